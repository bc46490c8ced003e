"""Experiments made of training runs: the LoRA ablation grid and layer pruning.

    rsic experiment grid --model demo --grid-r 2,4,8 --grid-alpha 4,16,32 --grid-dropout 0,0.1 --max-steps 100
    rsic experiment grid --data DATA --grid-r 8 --grid-alpha 16 --grid-dropout 0 --captions raw,SET_DIR  # preprocessing?
    rsic experiment prune --model M --prune-qformer-sweep 0,6 --prune-lm-sweep 0,16 --max-steps 100

Every cell is an ordinary training run (its own run folder under the runs directory, on the Runs
and Compare pages), plus one zero-shot evaluation of the base model; the experiment folder
``<runs>/<timestamp>-<name>/`` keeps ``experiment.json`` (settings and run folders) and the
side-by-side table as ``table.csv`` and ``table.md``. Scores in the tables are x100 (as papers print
them); the delta columns are against the zero-shot row.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from rsic_core.options import split_list
from rsic_core.runs.layout import RunKind, RunLayout, load_run, new_run_dir, write_json
from rsic_core.runs.tables import captions_label
from rsic_core.scoring.scale import as_percent
from rsic_core.training.config import TrainConfig
from rsic_core.training.trainer import train

TABLE_METRICS = ("BLEU-4", "CIDEr", "Geo-Sim (mean)")


@dataclass
class GridConfig:
    """The LoRA ablation grid (the study used r 2,4,8 x alpha 4,16,32 x dropout 0,0.1)."""

    grid_r: str = field(default="2,4,8", metadata={"help": "LoRA ranks, comma separated."})
    grid_alpha: str = field(default="4,16,32", metadata={"help": "LoRA alphas, comma separated."})
    grid_dropout: str = field(default="0,0.1", metadata={"help": "LoRA dropouts, comma separated."})
    grid_captions: str = field(
        default="raw",
        metadata={
            "help": "Training captions, comma separated: raw (the dataset's own) and/or preprocessed caption set "
            "folders (rsic preprocess --out); every cell is trained on each.",
            "aliases": ["--captions"],
        },
    )
    grid_zero_shot: bool = field(default=True, metadata={"help": "Evaluate the base model as the reference row."})


@dataclass
class PruneConfig:
    """Layer-pruning variants: keep the first N layers, then LoRA (0 = keep all)."""

    prune_qformer_sweep: str = field(
        default="0",
        metadata={
            "help": "Values of prune_qformer_layers to train, comma separated (BLIP-2's Q-Former, BITA's IFT; 0 = all).",
            "aliases": ["--prune-qformer", "--prune_qformer"],
        },
    )
    prune_lm_sweep: str = field(
        default="0",
        metadata={
            "help": "Values of prune_lm_layers to train, comma separated (0 = all).",
            "aliases": ["--prune-lm", "--prune_lm"],
        },
    )
    prune_zero_shot: bool = field(
        default=True, metadata={"help": "Evaluate the unpruned base model as the reference row."}
    )


@dataclass
class ExperimentResult:
    """What an experiment produced."""

    folder: Path  # the experiment folder (experiment.json, table.csv, table.md)
    table: object  # pandas DataFrame, one row per run
    runs: list[Path] = field(default_factory=list)  # the run folders, zero-shot first


def run_grid(base: TrainConfig, grid: GridConfig, progress: Callable[[str], None] | None = None) -> ExperimentResult:
    """Train one run per (rank, alpha, dropout, training captions) and tabulate them against the zero-shot row.

    Args:
        base: settings shared by every cell (model, data, steps, learning rate, ...).
        grid: the values to cross.
        progress (None): ``callable(message)`` before each run.

    Returns:
        The table: run, r, alpha, dropout, captions, trainable %, BLEU-4, CIDEr, Geo-Sim and their deltas.

    Raises:
        ValueError: a value that is not a number, or a caption set that cannot be read or was made from
            another dataset (before any run).
    """
    captions = _caption_axis(base, grid.grid_captions)
    cells = list(
        itertools.product(
            _ints(grid.grid_r, "grid_r"),
            _ints(grid.grid_alpha, "grid_alpha"),
            _floats(grid.grid_dropout, "grid_dropout"),
            captions,
        )
    )
    variants = [
        (
            f"{base.name}-r{r}-a{a}-d{d:g}" + (f"-{label}" if len(captions) > 1 or path else ""),
            dict(lora_r=r, lora_alpha=a, lora_dropout=d, train_captions=path),
        )
        for r, a, d, (label, path) in cells
    ]
    return _run_variants(RunKind.GRID, base, variants, grid.grid_zero_shot, asdict(grid), progress)


def run_prune(base: TrainConfig, prune: PruneConfig, progress: Callable[[str], None] | None = None) -> ExperimentResult:
    """Train one run per (Q-Former layers, language-model layers) kept; efficiency and scores side by side."""
    cells = list(
        itertools.product(
            _ints(prune.prune_qformer_sweep, "prune_qformer_sweep", 0), _ints(prune.prune_lm_sweep, "prune_lm_sweep", 0)
        )
    )
    variants = [
        (
            f"{base.name}-q{q or 'all'}-lm{m or 'all'}",
            dict(prune_qformer_layers=q, prune_lm_layers=m, eval_efficiency=True),
        )
        for q, m in cells
    ]
    return _run_variants(
        RunKind.PRUNE, replace(base, eval_efficiency=True), variants, prune.prune_zero_shot, asdict(prune), progress
    )


def zero_shot(base: TrainConfig, name: str | None = None) -> Path:
    """Evaluate the base model (no adapter) on ``base.eval_split`` as training runs are evaluated."""
    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.demo.dataset import demo_dataset_dir
    from rsic_core.models.inference import CaptionConfig
    from rsic_core.models.registry import load_captioner
    from rsic_core.runs.evaluation import EvalConfig, evaluate
    from rsic_core.scoring.metrics import ScoreConfig

    captioner = load_captioner(base.model, device=base.device_name)
    dataset = load_dataset(base.data or demo_dataset_dir())
    config = EvalConfig(
        eval_split=base.eval_split,
        eval_limit=base.predict_limit if base.predict_limit > 0 else None,
        eval_seed=base.eval_seed,
        eval_name=name or f"{base.name}-zero-shot",
        eval_efficiency=base.eval_efficiency,
        caption=CaptionConfig(
            gen_num_beams=base.gen_num_beams,
            gen_max_new_tokens=base.gen_max_new_tokens,
            batch_size=base.per_device_eval_batch_size,
        ),
        scoring=ScoreConfig(score_metrics=tuple(split_list(base.eval_metrics))),
    )
    return evaluate(captioner, dataset, base.eval_split, config)


def experiment_table(run_dirs: list[Path], zero_shot_dir: Path | None = None):
    """One row per run (scores x100, deltas against the zero-shot run), efficiency where measured."""
    import pandas as pd

    base = load_run(zero_shot_dir, with_predictions=False).corpus if zero_shot_dir else {}
    rows = []
    for folder in ([zero_shot_dir] if zero_shot_dir else []) + list(run_dirs):
        run = load_run(folder, with_predictions=False)
        c, e, lora = run.config, run.efficiency, _lora(folder)
        trained = c.get("kind") == RunKind.TRAINING
        row = {
            "run": "zero-shot" if folder == zero_shot_dir else run.name,
            "r": c.get("lora_r") if trained else None,
            "alpha": c.get("lora_alpha") if trained else None,
            "dropout": c.get("lora_dropout") if trained else None,
            "captions": captions_label(c),
            "Q-Former layers": c.get("prune_qformer_layers") or "all" if trained else "all",
            "LM layers": c.get("prune_lm_layers") or "all" if trained else "all",
            "trainable %": 100 * lora["share"] if lora else 0.0,
        }
        for metric in TABLE_METRICS:
            value = run.corpus.get(metric)
            row[metric] = as_percent(value)
            if base and metric in base and value is not None:
                row[f"Δ {metric}"] = as_percent(value - base[metric])
        row.update(
            {
                "params (M)": _scaled(e.get("params_total"), 1e-6),
                "GFLOPs/image": e.get("gflops_per_image"),
                "latency (ms/image)": _scaled(e.get("latency_s_per_image"), 1e3),
                "peak memory (MB)": _scaled(e.get("peak_memory_bytes"), 1e-6),
                "size (MB)": _scaled(e.get("size_on_disk_bytes"), 1e-6),
                "train (s)": c.get("train_seconds"),
                "path": str(folder),
            }
        )
        rows.append(row)
    table = pd.DataFrame(rows).dropna(axis=1, how="all")
    for column in ("r", "alpha"):
        if column in table.columns:
            table[column] = table[column].astype("Int64")
    return table


def _run_variants(
    kind: RunKind, base: TrainConfig, variants: list[tuple[str, dict]], with_zero_shot: bool, settings: dict, progress
) -> ExperimentResult:
    say = progress or (lambda message: None)
    if base.output_dir or base.resume:
        raise ValueError("an experiment makes one run folder per cell; leave output_dir and resume empty")
    folder = new_run_dir(f"{kind}-{base.name}")
    layout = RunLayout(folder)
    record = {
        "kind": kind,
        "base": base.to_dict(),
        "settings": settings,
        "runs": [],
        "zero_shot": None,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    zero = None
    if with_zero_shot:
        say(f"zero-shot evaluation of {base.model}")
        zero = zero_shot(base)
        record["zero_shot"] = str(zero)
    run_dirs = []
    for i, (name, overrides) in enumerate(variants, 1):
        say(f"run {i}/{len(variants)}: {name}")
        started = time.time()
        run_dir = train(replace(base, name=name, **overrides))
        _note_seconds(run_dir, time.time() - started)
        run_dirs.append(run_dir)
        record["runs"].append(str(run_dir))
        write_json(folder, layout.experiment_file.name, record)  # partial results survive an interrupted grid
    table = experiment_table(run_dirs, zero)
    write_json(folder, layout.experiment_file.name, record)
    table.to_csv(layout.table_csv, index=False)
    layout.table_md.write_text(markdown_table(table.drop(columns=["path"])), encoding="utf-8")
    return ExperimentResult(folder, table, ([zero] if zero else []) + run_dirs)


def markdown_table(table, digits: int = 2) -> str:
    """A DataFrame as a GitHub markdown table (numbers rounded), for the README."""
    import pandas as pd

    def cell(value):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _note_seconds(run_dir: Path, seconds: float) -> None:
    RunLayout(run_dir).update_config(train_seconds=round(seconds, 1))


def _lora(folder: Path) -> dict:
    try:
        return json.loads(RunLayout(folder).lora_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _scaled(value, factor):
    return None if value is None else float(value) * factor


def _caption_axis(base: TrainConfig, text: str) -> list[tuple[str, str]]:
    """(label, train_captions) per value of ``grid_captions``: ("raw", "") or (the set's name, its folder), each
    set read and checked against the dataset before any run."""
    from rsic_core.data.caption_sets import check_made_from, read_caption_set
    from rsic_core.data.datasets import load_dataset
    from rsic_core.data.demo.dataset import demo_dataset_dir

    values = split_list(text) or ["raw"]
    axis, dataset = [], None
    for value in values:
        if value == "raw":
            axis.append(("raw", ""))
            continue
        caption_set = read_caption_set(value)
        dataset = dataset or load_dataset(base.data or demo_dataset_dir())
        check_made_from(caption_set, dataset)
        axis.append((caption_set.name, str(caption_set.folder)))
    if len({label for label, _ in axis}) < len(axis):
        raise ValueError(f"grid_captions names the same captions twice ({text}); give each once")
    return axis


def _ints(text: str, name: str, minimum: int = 1) -> list[int]:
    try:
        values = [int(v) for v in split_list(text)]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated whole numbers (got {text!r})") from None
    if not values or min(values) < minimum:
        raise ValueError(f"{name} needs at least one value, each at least {minimum} (got {text!r})")
    return values


def _floats(text: str, name: str) -> list[float]:
    try:
        values = [float(v) for v in split_list(text)]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated numbers (got {text!r})") from None
    if not values:
        raise ValueError(f"{name} needs at least one value")
    return values
