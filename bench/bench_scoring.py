"""Scoring an RSICD-size test split with every metric, from a cold start.

    .venv/bin/python bench/bench_scoring.py [--images 1094] [--seed 0] [--steps]

Generates 1,094 images x 5 references in the RSICD style (30 scene classes, counts, colours,
relations, padded duplicate references) and one prediction per image with the usual mistakes
(wrong counts, missing and extra objects, generic captions), then times ``rsic_core.scoring.metrics.score``
with BLEU-1..4, METEOR, ROUGE-L, CIDEr-D and Geo-Sim (packaged all-MiniLM-L6-v2) in this fresh
process: the JVM starts of the PTB tokenizer and METEOR and the embedder load are included.
Prints wall and CPU seconds (this process, its children and the METEOR JVM) and the load average
(the machine may be shared), then Geo-Sim in float32 (the default, auto, is bfloat16 on CPUs with
bf16 units), and everything again in the warm process
(JVM up, reference vectors cached, as in a training run's per-epoch evaluation). ``--steps``
scores each metric group alone first, for CPU seconds per group. Targets: total <= 60 s, Geo-Sim <= 15 s on 2 cores.
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
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

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
        ("all metrics again, warm process", ScoreConfig(score_metrics=everything)),
    ]
    rows, results = [], []
    for label, config in runs:
        result, wall, cpu = _timed_score(predictions, references, config, coco)
        rows.append((label, wall, cpu))
        results.append(result)
    n_refs = sum(len(r) for r in references.values())
    print(
        f"{args.images} images, {n_refs} references; {os.cpu_count()} CPUs; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"{'run':<40}{'wall s':>8}{'CPU s':>8}")
    for label, wall, cpu in rows:
        print(f"{label:<40}{wall:>8.1f}{cpu:>8.1f}")
    if not args.steps:
        steps = results[0].seconds
        print(
            "  cold run, wall s per step (METEOR runs beside the others): "
            + ", ".join(f"{k} {v:.1f}" for k, v in steps.items())
        )
    corpus = {k: v for r in results[:-2] for k, v in r.corpus.items()}
    print()
    print("  ".join(f"{k} {v:.3f}" for k, v in corpus.items()))
    print("Geo-Sim embedders: " + "; ".join(dict.fromkeys(r.embedder for r in results if r.embedder)))
    print(
        "float32 Geo-Sim: " + "  ".join(f"{k} {v:.4f} (default {corpus[k]:.4f})" for k, v in results[-2].corpus.items())
    )
    for note in results[0].notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
