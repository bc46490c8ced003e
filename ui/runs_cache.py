"""What the Compare, Runs and Efficiency pages share: the runs folder kept for the session, cached
run loading, and the Evaluate form that writes a new run.

The runs folder lives under a session key of its own (:data:`RUNS_ROOT_KEY`), not under the text
box's key: Streamlit drops a widget's value on a page that does not draw that widget (and a widget
on another page is another widget), so a folder kept only in the box was lost on every other hop
between the run pages. The box is seeded from the kept folder on each page and copies what is
typed back into it (as the sidebar keeps the dataset path in ``ui.state``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from rsic_core import paths
from rsic_core.data.subsets import choose_subset
from rsic_core.models.inference import CaptionConfig
from rsic_core.runs import layout as runs
from rsic_core.runs.evaluation import EvalConfig, evaluate, split_subset
from rsic_core.runs.layout import RunLayout
from rsic_core.runs.tables import model_label
from rsic_core.scoring import error_analysis
from ui import models_cache, state

RUNS_ROOT_KEY = "runs_root"  # session key (no widget's): the folder the run pages list (default: paths.runs_dir())
_BOX_KEY = "runs_root_box"  # the text box's own key, seeded from RUNS_ROOT_KEY on every page
_PROBLEM_KEY = "runs_root_problem"  # why the last folder typed was not taken


def runs_root() -> str:
    """The runs folder chosen on a run page for this session (the default runs folder until changed)."""
    if not st.session_state.get(RUNS_ROOT_KEY):
        st.session_state[RUNS_ROOT_KEY] = str(paths.runs_dir())
    return st.session_state[RUNS_ROOT_KEY]


def _take_typed() -> None:
    """The box changed: keep an absolute folder for the session; empty means the default runs folder."""
    typed = str(st.session_state.get(_BOX_KEY) or "").strip()
    folder = Path(typed).expanduser() if typed else paths.runs_dir()
    if not folder.is_absolute():  # relative to what? the folder the app was started from is no answer
        st.session_state[_PROBLEM_KEY] = (
            f"{typed}: give the runs folder as an absolute path (e.g. {paths.runs_dir()}); still listing {runs_root()}"
        )
        return
    st.session_state.pop(_PROBLEM_KEY, None)
    st.session_state[RUNS_ROOT_KEY] = str(folder)


def runs_root_input() -> str:
    """The "Runs folder" box, showing the session's runs folder; returns that folder."""
    root = runs_root()
    # Set on every run, before the box is drawn: after a page hop the box is a new widget, and a value
    # left under its key from the last page is not taken, only one set in this run.
    st.session_state[_BOX_KEY] = root
    st.text_input(
        "Runs folder",
        key=_BOX_KEY,
        on_change=_take_typed,
        help="Where `rsic evaluate` and training write their run folders; kept while you move between pages. "
        "Empty = the default runs folder.",
    )
    if problem := st.session_state.get(_PROBLEM_KEY):
        st.error(problem)
    return runs_root()


def _stamp(folder: Path) -> float:
    return max((f.stat().st_mtime for f in RunLayout(folder).record_files if f.is_file()), default=0.0)


@st.cache_data(show_spinner=False, max_entries=8)
def _list_runs(root: str, stamps: tuple) -> list[runs.Run]:
    return runs.list_runs(root)


def list_runs(root: str) -> list[runs.Run]:
    """Runs under ``root``, re-read when a run folder is added or changed."""
    folder = Path(root).expanduser()
    if not folder.is_dir():
        return []
    stamps = tuple(sorted((p.name, _stamp(p)) for p in folder.iterdir() if p.is_dir()))
    return _list_runs(str(folder), stamps)


@st.cache_data(show_spinner="Reading the run...", max_entries=8)
def _analyzed(folder: str, stamp: float):
    run = runs.load_run(folder)
    return run, error_analysis.analyze_run(run.predictions_frame())


def analyzed_run(folder: str):
    """(run, predictions table with error-analysis columns) of one run folder."""
    return _analyzed(folder, _stamp(Path(folder)))


@dataclass(frozen=True)
class EvalRequest:
    """What the Evaluate form asks for."""

    model: str = "demo"  # "demo", a save_pretrained folder or a cached hub id
    adapter: str = ""  # a LoRA adapter folder; "" = zero-shot
    split: str = "test"
    beams: int = 1
    limit: int | None = None  # N images of the split, a seeded sample stratified by class; None = all
    seed: int = 0  # the sample's seed
    batch_size: int = 8  # 1: each image is timed alone
    name: str = ""  # "" = <model>-<adapter or zero-shot>-<dataset>-<split>

    def run_name(self, dataset_name: str) -> str:
        adapter = Path(self.adapter.rstrip("/")).name if self.adapter.strip() else "zero-shot"
        return self.name.strip() or f"{model_label(self.model)}-{adapter}-{dataset_name}-{self.split}"


def evaluate_form(dataset, expanded: bool) -> EvalRequest | None:
    """The Evaluate form on ``dataset`` (the loaded one), in an expander; the request once submitted."""
    splits = list(dataset.split_counts()) or ["test"]
    with st.expander("Evaluate a model on the loaded dataset", expanded=expanded, icon=":material/play_arrow:"):
        st.caption(f"Dataset **{dataset.name}** (`{dataset.annotation_file}`); load another one in the sidebar.")
        with st.form("evaluate_form", border=False):
            c1, c2 = st.columns(2)
            model = c1.text_input(
                "Model",
                value="demo",
                key="evaluate_model",
                help="`demo` (the offline demo model), a folder written by save_pretrained, "
                "or a Hugging Face id already in the local cache (nothing is downloaded)",
            )
            adapter = c2.text_input(
                "Adapter (optional)", key="evaluate_adapter", help="A LoRA adapter folder; empty = zero-shot"
            )
            c3, c4, c5, c6, c7 = st.columns(5)
            split = c3.selectbox(
                "Split",
                splits,
                index=splits.index("test") if "test" in splits else 0,
                format_func=lambda s: f"{s} ({dataset.split_counts().get(s, 0)} images)",
                key=state.widget_key("evaluate_split", splits),
            )
            beams = c4.number_input(
                "Beams", 1, 10, 1, key="evaluate_beams", help="1 = greedy; 5 as in the RSIC studies"
            )
            limit = c5.number_input(
                "Images",
                min_value=1,
                value=None,
                placeholder="all",
                key="evaluate_limit",
                help="N images of the split, a seeded sample stratified by class; empty = all",
            )
            seed = c6.number_input(
                "Seed", min_value=0, value=0, key="evaluate_seed", help="The same N and seed give the same images"
            )
            batch = c7.number_input(
                "Batch size",
                1,
                64,
                8,
                key="evaluate_batch",
                help="Images per generate() call. A per-image time is its batch's time shared out (a batch average); "
                "1 times each image alone.",
            )
            name = st.text_input("Run name", key="evaluate_name", placeholder="<model>-<adapter>-<dataset>-<split>")
            submitted = st.form_submit_button("Evaluate", type="primary", icon=":material/play_arrow:")
        chosen = choose_subset(dataset.select(split=split), limit, int(seed))
        st.caption(f"Images evaluated: {chosen.description} of the {split} split.")
    if not submitted:
        return None
    return EvalRequest(
        model=model.strip() or "demo",
        adapter=adapter.strip(),
        split=split,
        beams=int(beams),
        limit=None if limit is None else int(limit),
        seed=int(seed),
        batch_size=int(batch),
        name=name,
    )


def _progress_text(done: int, total: int) -> str:
    """The bar's text: captions as they come, then what the wait after the last caption is for."""
    if done < total:
        return f"Captioned {done} of {total}"
    return (
        f"Captioned {total} of {total}; scoring them (BLEU, METEOR, ROUGE-L, CIDEr, Geo-Sim: METEOR starts Java, "
        "so the first scoring takes about 20 s)..."
    )


def run_evaluation(request: EvalRequest, dataset, root: str) -> Path | None:
    """Caption, score and write the run asked for, with a progress bar; its folder, or None after an error shown."""
    try:
        subset = split_subset(dataset, request.split, request.limit, request.seed)  # before the model
        captioner = models_cache.captioner(request.model, request.adapter or None)
        bar = st.progress(
            0.0, text=f"Captioning {subset.description} of the {request.split} split of {dataset.name}..."
        )
        config = EvalConfig(
            eval_name=request.run_name(dataset.name),
            eval_limit=request.limit,
            eval_seed=request.seed,
            caption=CaptionConfig(gen_num_beams=request.beams, batch_size=request.batch_size),
        )
        return evaluate(
            captioner,
            dataset,
            request.split,
            config,
            progress=lambda done, total: bar.progress(done / max(total, 1), text=_progress_text(done, total)),
            root=root,
            subset=subset,
        )
    except (FileNotFoundError, ValueError, OSError) as e:
        st.error(str(e))
        return None
