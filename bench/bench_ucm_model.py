"""The shipped real-photo model on UCM-captions val, beside baselines and the human ceiling (CPU, greedy).

    .venv/bin/python bench/bench_ucm_model.py [--data ../shared/data/ucm-captions] [--run RUN] [--lora-steps 300]
                                              [--out table.md]

Rows, all on the val split (210 images, 5 human references each; never trained or tuned on):

* ``ucm`` (assets/ucm_model): the shipped model, greedy;
* ``demo`` (assets/demo_model): the synthetic demo model, what real photos got before;
* with ``--lora-steps N``: a LoRA run from the ucm model on the train split (the family's default targets,
  r 8, ``rsic train`` defaults otherwise), evaluated on val like the rows above;
* one caption for every image: the training split's most frequent caption (a floor that a model naming
  no scene reaches);
* the human ceiling: each reference scored against the image's four others (leave-one-out), averaged
  over the five choices.

Columns: BLEU-4 and CIDEr-D (pycocoevalcap, corpus level, x100) and the share of images whose caption
names the true scene class, read as the Compare page reads it (:class:`rsic_core.scoring.confusion.SceneNames`,
with objects tied to classes by the training references). With ``--run`` (the training run that made
the model) the learning curve of its validation scores is printed as well.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rsic_core.data.datasets import load_dataset  # noqa: E402
from rsic_core.models.inference import CaptionConfig, caption_images  # noqa: E402
from rsic_core.models.registry import load_captioner  # noqa: E402
from rsic_core.scoring.confusion import SceneNames  # noqa: E402
from rsic_core.scoring.metrics import ScoreConfig, score  # noqa: E402
from rsic_core.text.words import words  # noqa: E402
from rsic_core.training.jobs import read_jsonl  # noqa: E402

SHARED_UCM = Path(__file__).resolve().parents[2] / "shared" / "data" / "ucm-captions"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED_UCM), help="UCM-captions folder (train + val)")
    parser.add_argument("--split", default="val")
    parser.add_argument(
        "--train-data", default=None, help="dataset whose train split ties objects to classes (default: --data)"
    )
    parser.add_argument("--models", default="ucm,demo", help="comma list of models to caption with")
    parser.add_argument(
        "--run", default=None, help="training runs (comma list, the model's first): print their learning curves"
    )
    parser.add_argument("--lora-steps", type=int, default=0, help="also train a LoRA run of N steps from ucm")
    parser.add_argument("--lora-lr", type=float, default=5e-4, help="its learning rate")
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    args = parser.parse_args()

    dataset = load_dataset(args.data)
    train = load_dataset(args.train_data or args.data).select(split="train")
    records = dataset.select(split=args.split)
    references = {r.image_id: list(r.captions) for r in records}
    names = SceneNames({r.label for r in train}, [(r.label, r.captions) for r in train])
    labels = {r.image_id: r.label for r in records}

    def row(title: str, predictions: dict) -> str:
        return score_row(title, predictions, references, names, labels)

    rows = []
    for model in args.models.split(","):
        captioner = load_captioner(model, device="cpu")
        results = caption_images(captioner, [r.path for r in records], CaptionConfig(batch_size=32))
        predictions = {r.image_id: res.caption for r, res in zip(records, results)}
        rows.append(row(f"`{model}` ({Path(captioner.name).name}), greedy", predictions))
        print(f"{model}: {records[0].image_id} -> {predictions[records[0].image_id]!r}", file=sys.stderr)
    if args.lora_steps:
        run = _lora_run(args)
        predictions = {row["image_id"]: row["prediction"] for row in read_jsonl(run / "predictions.jsonl")}
        rows.insert(
            1, row(f"`ucm` + LoRA ({args.lora_steps} steps on train, lr {args.lora_lr:g}), greedy", predictions)
        )
        print(f"LoRA run: {run}", file=sys.stderr)
    common = Counter(" ".join(words(c)) for r in train for c in r.captions).most_common(1)[0][0]
    rows.append(row(f'one caption for every image ("{common}")', {i: common for i in references}))
    rows.append(_human_row(records, names, labels))
    rows.append(_human_row(records, names, labels, drop_copies=True))
    table = "\n".join(
        [
            f"| {dataset.name} {args.split} ({len(records)} images) | BLEU-4 | CIDEr | scene class named |",
            "| --- | --- | --- | --- |",
            *rows,
        ]
    )
    print(table)
    if args.run:
        print(learning_curve([Path(r) for r in args.run.split(",")], names))
    if args.out:
        Path(args.out).write_text(table + "\n")


# The LoRA runs' fixed settings, shared by bench_ucm_lora.py: cosine schedule, 32 photos a step, the model's own
# augmentation, BLEU and CIDEr of 30-token greedy captions at the end.
LORA_RECIPE = dict(
    lr_scheduler_type="cosine",
    warmup_steps=0.05,
    per_device_train_batch_size=32,
    gradient_accumulation_steps=1,
    augment="dihedral,crop",
    eval_metrics="bleu,cider",
    eval_efficiency=False,
    gen_max_new_tokens=30,
    per_device_eval_batch_size=32,
)


def score_row(title: str, predictions: dict, references: dict, names: SceneNames, labels: dict) -> str:
    """A markdown row: corpus BLEU-4 and CIDEr (x100) and the share of captions naming the image's class."""
    corpus = score(predictions, references, ScoreConfig(score_metrics=("bleu", "cider"))).corpus
    named = sum(names.scene(words(predictions[i])) == labels[i] for i in predictions) / len(predictions)
    return f"| {title} | {100 * corpus['BLEU-4']:.1f} | {100 * corpus['CIDEr']:.1f} | {100 * named:.0f} % |"


def _lora_run(args) -> Path:
    """A LoRA run from the ucm model on the train split, evaluated on ``args.split``; returns its folder."""
    from rsic_core.training.config import TrainConfig
    from rsic_core.training.trainer import train

    config = TrainConfig(
        model="ucm",
        data=args.data,
        name="ucm-lora",
        eval_split=args.split,
        max_steps=args.lora_steps,
        learning_rate=args.lora_lr,
        save_steps=args.lora_steps,
        **LORA_RECIPE,
    )
    return train(config)


def _human_row(records, names: SceneNames, labels: dict, drop_copies: bool = False) -> str:
    """Each reference against the other four, for each of the five positions; the mean of the five corpus scores.

    UCM pads images with fewer than five distinct captions with copies, so a held-out reference often has its
    own copy among the others; ``drop_copies`` leaves those copies out (and images left with no other reference).
    """
    bleu, cider, named = [], [], []
    for k in range(5):
        held, others = {}, {}
        for r in records:
            if len(r.captions) <= k:
                continue
            rest = [c for j, c in enumerate(r.captions) if j != k and not (drop_copies and c == r.captions[k])]
            if rest:
                held[r.image_id], others[r.image_id] = r.captions[k], rest
        corpus = score(held, others, ScoreConfig(score_metrics=("bleu", "cider"))).corpus
        bleu.append(corpus["BLEU-4"])
        cider.append(corpus["CIDEr"])
        named.append(sum(names.scene(words(c)) == labels[i] for i, c in held.items()) / len(held))
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    title = "copies of it left out" if drop_copies else "as released, copies included"
    return (
        f"| human ceiling (each reference vs. the other four; {title}) | {100 * mean(bleu):.1f} | "
        f"{100 * mean(cider):.1f} | {100 * mean(named):.0f} % |"
    )


def learning_curve(runs: list[Path], names: SceneNames) -> str:
    """The runs' validation scores per step side by side: BLEU-4 / CIDEr / scene class named, as a markdown table."""
    curves = []
    for run in runs:
        curve = {}
        for entry in read_jsonl(run / "val_metrics.jsonl"):
            rows = read_jsonl(run / "val" / f"step-{entry['step']}" / "predictions.jsonl")
            named = sum(names.scene(words(r["prediction"])) == r["label"] for r in rows) / len(rows)
            curve[entry["step"]] = f"{100 * entry['BLEU-4']:.1f} / {100 * entry['CIDEr']:.1f} / {100 * named:.0f} %"
        curves.append(curve)
    lines = ["| step | " + " | ".join(f"`{r.name}`: BLEU-4 / CIDEr / class named" for r in runs) + " |"]
    lines.append("| --- |" + " --- |" * len(runs))
    for step in sorted(curves[0]):
        lines.append(f"| {step} | " + " | ".join(c.get(step, "–") for c in curves) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
