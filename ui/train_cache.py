"""The Train page's form (made of TrainConfig fields) and what it shows of a run: status, loss log, scores.

Nothing here is cached across reruns on purpose: a running run's files change every step, and
reading a few small JSON files is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rsic_core.data.subsets import choose_subset, describe_subset
from rsic_core.runs.layout import RunLayout, read_json_object
from rsic_core.scoring.scale import as_percent
from rsic_core.training import jobs


def _trackers() -> list[str]:
    """none, then the trackers installed here (the Trainer's own list)."""
    from transformers.integrations import get_available_reporting_integrations

    return ["none", *get_available_reporting_integrations()]


# The form: TrainConfig fields in the order shown, with a label where the field name does not read
# well and bounds for number inputs. Help texts, defaults and choices come from the fields themselves.
FORM_FIELDS = {
    "model": {},
    "name": {"label": "Run name"},
    "train_mode": {"label": "Train mode"},
    "objective": {"label": "Objective"},
    "scst_samples": {"label": "SCST samples per image", "min_value": 2, "max_value": 64},
    "lora_targets": {"label": "LoRA targets"},
    "precision": {},
    "lora_r": {"label": "LoRA rank r", "min_value": 1, "max_value": 256},
    "lora_alpha": {"label": "LoRA alpha", "min_value": 1, "max_value": 512},
    "lora_dropout": {"label": "LoRA dropout", "min_value": 0.0, "max_value": 0.9, "step": 0.05},
    "learning_rate": {"min_value": 1e-7, "max_value": 1.0, "format": "%.1e"},
    "per_device_train_batch_size": {"label": "Batch per device", "min_value": 1, "max_value": 512},
    "gradient_accumulation_steps": {"label": "Gradient accumulation", "min_value": 1, "max_value": 256},
    "max_steps": {"label": "Max steps (-1: use epochs)", "min_value": -1, "max_value": 10**6},
    "num_train_epochs": {"label": "Epochs", "min_value": 0.0, "max_value": 100.0},
    "eval_steps": {"label": "Validate every N steps (0: never)", "min_value": 0, "max_value": 10**6},
    "val_limit": {"label": "Validation images", "min_value": 1, "max_value": 10**5},
    "eval_seed": {"label": "Validation seed", "min_value": 0, "max_value": 2**31 - 1},
    "seed": {"min_value": 0, "max_value": 2**31 - 1},
    "report_to": {"choices": _trackers},
}


@dataclass
class FormField:
    """One widget of the Train form, described by a TrainConfig field."""

    name: str  # the field, the key of the config the form returns
    label: str
    widget: str  # text, number, select or checkbox
    default: object
    help: str | None = None
    choices: list = field(default_factory=list)  # select: the options, the default first
    bounds: dict = field(default_factory=dict)  # number: min_value, max_value, step, format


def form_fields() -> list[FormField]:
    """The Train form, from TrainConfig's fields (imports transformers: the config is the Trainer's)."""
    from rsic_core.training.config import TrainConfig

    fields = TrainConfig.__dataclass_fields__
    form = []
    for name, spec in FORM_FIELDS.items():
        f, spec = fields[name], dict(spec)
        label = spec.pop("label", name.replace("_", " ").capitalize())
        choices = spec.pop("choices", None) or f.metadata.get("choices") or []
        choices = list(choices() if callable(choices) else choices)
        if choices:
            widget = "select"
            choices = [f.default, *(c for c in choices if c != f.default)]
        else:
            widget = {bool: "checkbox", int: "number", float: "number"}.get(type(f.default), "text")
        form.append(FormField(name, label, widget, f.default, f.metadata.get("help"), choices, spec))
    return form


NO_FINAL_EVAL = "(none: no final evaluation)"
MISSING = "\u2013"  # a table cell with no value yet (an en dash, as scoring.scale.format_score prints)
SPLIT_FIELDS = {  # the split pickers: label, and the splits preferred as default, in order
    "train_split": ("Train on split", ("train",)),
    "val_split": ("Validate on split", ("val", "validation", "test")),
    "eval_split": ("Evaluate at the end on", ("test", "val", "validation")),
}


def split_fields(splits: list[str]) -> list[FormField]:
    """The split pickers of the form, offering the loaded dataset's ``splits`` (help texts from TrainConfig).

    The final evaluation may also be :data:`NO_FINAL_EVAL` (a dataset with a train split only, or
    UCM-captions' train/val release, has nothing left to evaluate on).
    """
    from rsic_core.training.config import TrainConfig

    fields = TrainConfig.__dataclass_fields__
    form = []
    for name, (label, preferred) in SPLIT_FIELDS.items():
        choices = list(splits) + ([NO_FINAL_EVAL] if name == "eval_split" else [])
        fallback = NO_FINAL_EVAL if name == "eval_split" else (choices[0] if choices else "")
        default = next((s for s in preferred if s in splits), fallback)
        form.append(FormField(name, label, "select", default, fields[name].metadata.get("help"), choices))
    return form


RAW_CAPTIONS = "raw (the dataset's own)"
CAPTIONS_HELP = (
    "The training targets: the dataset's own captions, or a caption set saved from the Caption statistics or "
    "Synonym clusters page (only sets made from this dataset are offered). Validation and the final evaluation "
    "always score against the dataset's own references."
)


def caption_choices(dataset) -> dict[str, str]:
    """The Training captions picker: label -> train_captions (:data:`RAW_CAPTIONS` -> "", a saved set -> its folder)."""
    from rsic_core.data.caption_sets import caption_sets_for

    return {RAW_CAPTIONS: "", **{s.name: str(s.folder) for s in caption_sets_for(dataset)}}


def launch_config(values: dict, data: str) -> dict:
    """What the form sends to :func:`rsic_core.training.jobs.start`: its values, the dataset, no final evaluation as -1."""
    config = {**values, "data": data}
    if config.get("eval_split") == NO_FINAL_EVAL:
        config.pop("eval_split")
        config["predict_limit"] = -1
    return config


def validation_images(dataset, values: dict) -> str:
    """One line saying which images the form's validation scores: its split, ``val_limit`` and ``eval_seed``."""
    split = values.get("val_split") or "val"
    chosen = choose_subset(
        dataset.select(split=split), int(values.get("val_limit") or 0), int(values.get("eval_seed") or 0)
    )
    if not chosen.of:
        return f"Validation images: none, the dataset has no {split} split."
    when = (
        "every validation step"
        if values.get("eval_steps")
        else "every validation step, once Validate every N steps is set"
    )
    return f"Validation images: {chosen.description} of the {split} split, the same at {when}."


def _plain(message: str) -> str:
    """A status message for a table cell: no Markdown code marks (a cell shows them raw)."""
    return message.replace("`", "")


def _launched(run_dir: Path) -> dict:
    """The run's config (config.json once the run wrote it, else what the page sent); {} when unreadable."""
    layout = RunLayout(run_dir)
    for file in (layout.config_file, layout.launch_file):
        try:
            if file.is_file():
                return read_json_object(file)
        except (OSError, ValueError):
            continue
    return {}


def _data_name(config: dict) -> str:
    """The folder a run's dataset was loaded from, by name (as the sidebar took it), "demo" when none is named."""
    data = Path(config.get("data") or "demo")
    return data.parent.name if data.suffix else data.name  # an annotation file: its folder


def trained_on(run_dir: str | Path) -> str:
    """One Markdown line: the dataset, splits and captions a run trains, validates and is evaluated on."""
    c = _launched(Path(run_dir))
    how = ", ".join(
        w for w, on in (("full", c.get("train_mode") == "full"), ("SCST", c.get("objective") == "scst")) if on
    )
    line = (
        "Trains" + (f" ({how})" if how else "") + f" on **{_data_name(c)}**, split **{c.get('train_split', 'train')}**"
    )
    if c.get("train_captions"):
        line += f", captions **{Path(c['train_captions']).name}**"
    if c.get("eval_steps"):
        line += f"; validates on **{c.get('val_split', 'val')}** every {c['eval_steps']} steps"
    if int(c.get("predict_limit", 0)) < 0:
        return line + "; no final evaluation."
    return line + f"; evaluated at the end on **{c.get('eval_split', 'test')}**."


def run_view(run_dir: str | Path) -> dict:
    """State, message, step, progress text and fraction, loss log (SCST: reward and baseline), validation table
    and which images it scores (``val_images``, "" for a run that did not record them)."""
    run_dir = Path(run_dir)
    status = jobs.read_status(run_dir)
    step, max_steps = int(status.get("step") or 0), int(status.get("max_steps") or 0)
    rows = jobs.read_jsonl(run_dir / jobs.STEP_LOG)
    rewards = [c for c in ("reward", "baseline") if any(c in r for r in rows)]  # SCST runs
    log = pd.DataFrame(rows, columns=["step", "loss", "learning_rate", *rewards])
    validation = pd.DataFrame(jobs.read_jsonl(run_dir / jobs.VAL_LOG))
    if not validation.empty:
        scores = [c for c in validation.columns if c not in ("step", "seconds", "error")]
        validation = as_percent(validation, scores)
    subset = _launched(run_dir).get("val_subset")
    state = jobs.state_of(run_dir)
    message = status.get("message", "")
    if state == "died":
        message = f"the training process is gone without finishing; continue it with `rsic train --resume {run_dir}`"
    return {
        "state": state,
        "message": message,
        "step": step,
        "max_steps": max_steps,
        "progress": f"step {step} of {max_steps}" if max_steps else f"step {step}",
        "fraction": min(step / max_steps, 1.0) if max_steps else 0.0,
        "log": log,
        "validation": validation,
        "val_images": describe_subset(subset) if isinstance(subset, dict) else "",
        "final": _final_scores(run_dir) if state == "completed" else None,
    }


def _final_scores(run_dir: Path) -> dict | None:
    """The finished run's corpus scores x100 on its evaluation split, with the split and images; None without."""
    try:
        corpus = read_json_object(RunLayout(run_dir).metrics).get("corpus") or {}
        config = read_json_object(RunLayout(run_dir).config_file)
    except (OSError, ValueError):
        return None
    subset = config.get("subset")
    images = describe_subset(subset) if isinstance(subset, dict) else ""
    scores = {k: v for k, v in as_percent(corpus).items() if v is not None}
    return {"scores": scores, "split": config.get("eval_split", ""), "images": images} if scores else None


def runs_overview(run_dirs: list[Path]) -> pd.DataFrame:
    """One row per training run: name, state, dataset and split, step, last loss, message (plain text).

    Counts and the loss are text (Streamlit's table prints a missing number as "None"): what a run
    has not reached yet (no step, no loss) reads :data:`MISSING`.
    """
    rows = []
    for run_dir in run_dirs:
        status, config = jobs.read_status(run_dir), _launched(run_dir)
        log = jobs.read_jsonl(run_dir / jobs.STEP_LOG)
        rows.append(
            {
                "run": run_dir.name,
                "state": str(jobs.state_of(run_dir)),
                "data": _data_name(config),
                "split": config.get("train_split", "train"),
                "step": _text(status.get("step")),
                "of": _text(status.get("max_steps")),
                "last loss": _text(log[-1]["loss"] if log else None, "{:.4f}"),
                "message": _plain(status.get("message", "")),
                "folder": str(run_dir),
            }
        )
    return pd.DataFrame(rows, columns=["run", "state", "data", "split", "step", "of", "last loss", "message", "folder"])


def _text(value, form: str = "{}") -> str:
    return MISSING if value is None else form.format(value)
