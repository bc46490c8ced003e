"""A finished training run made into a model folder to hand out: bf16 weights, processor, and its card.

    rsic model ship RUN --out assets/ucm_model --knows "the 21 land-use classes of UC Merced ..."
    ship_run("runs/ucm", "assets/ucm_model", knows="...")

The folder loads like any other (``load_captioner(folder)``); its ``training.json`` is the model's
card (:mod:`rsic_core.models.cards`): what it knows, the scene classes of its training split and the
objects their references tie to one class (so the Map page and Compare name classes the same way),
the data it was trained on, the exact ``rsic train`` options of the run, its validation curve and
final scores. Nothing is overwritten: ``out`` must not exist or be empty.
"""

from __future__ import annotations

import json
from pathlib import Path

from rsic_core.runs.layout import RunLayout, RunStatus
from rsic_core.training.jobs import read_jsonl

_DEFAULTS_LEFT_OUT = ("output_dir", "resume", "overwrite", "logging_dir", "run_name")


def ship_run(run_dir: str | Path, out: str | Path, knows: str, dtype: str = "bf16", notes: dict | None = None) -> dict:
    """Write ``out``: the run's model in ``dtype`` with its processor and card; returns the card.

    Raises:
        ValueError: the run did not complete, saved no whole model (a LoRA run: merge it first with
            ``--train-mode full`` or ship its ``model/`` when it has one), or ``out`` holds files.
    """
    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.demo.dataset import demo_dataset_dir
    from rsic_core.models.base import choose_dtype
    from rsic_core.models.cards import CARD_FILE
    from rsic_core.models.registry import load_captioner
    from rsic_core.scoring.confusion import SceneNames

    run, out = Path(run_dir), Path(out)
    layout = RunLayout(run)
    if not layout.config_file.is_file():
        raise ValueError(f"{run}: no training run here (no {layout.config_file.name}); give a run folder of rsic train")
    status = layout.read_status()
    if layout.state() != RunStatus.COMPLETED:
        raise ValueError(f"{run}: the run has not completed (it is {layout.state()}); ship a finished run")
    if not (layout.model_dir / "config.json").is_file():
        raise ValueError(f"{run}: no whole model in {layout.model_dir.name}/ (ship a --train-mode full run)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out}: exists and is not an empty folder; nothing was written")
    config = layout.read_config()
    captioner = load_captioner(layout.model_dir, device="cpu", dtype="fp32")
    captioner.model.to(choose_dtype("cpu", dtype))
    captioner.save(out)
    dataset = load_dataset(config.get("data") or demo_dataset_dir())  # an empty data field: the demo dataset
    train = dataset.select(split=config.get("train_split", "train"))
    classes = sorted({r.label for r in train if r.label})
    names = SceneNames(classes, [(r.label, r.captions) for r in train])
    card = {
        "model": f"{captioner.family.title} architecture, {captioner.num_parameters() / 1e6:.1f} M parameters",
        "knows": knows,
        "classes": classes,
        "class_keywords": dict(sorted(names.keywords.items())),
        "dataset": {"name": dataset.name, "train_split": config.get("train_split"), "train_images": len(train)},
        **(notes or {}),
        "training_options": {k: v for k, v in config.items() if k not in _DEFAULTS_LEFT_OUT},
        "steps": status.get("step"),
        "validation_curve": read_jsonl(layout.val_log),
        "final_scores": json.loads(layout.metrics.read_text()) if layout.metrics.is_file() else None,
        "shipped_from": str(run),
        "dtype": dtype,
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card
