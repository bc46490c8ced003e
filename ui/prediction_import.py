"""The Runs page's "Import predictions" form: score a prediction file in any format :mod:`rsic_core.runs.imports`
reads (uploaded, or a path under the data folders) against a dataset split, kept as a run of kind "imported"."""

from pathlib import Path

import streamlit as st

from rsic_core import paths
from rsic_core.data.caption_sets import file_sha256
from rsic_core.data.roots import dataset_under_roots, file_under_roots
from rsic_core.runs.imports import import_predictions
from rsic_core.scoring.metrics import METRIC_GROUPS, ScoreConfig
from ui import state


def import_form(root: str) -> None:
    """Score a prediction file (uploaded, or a path under the data folders) and keep it as an imported run."""
    upload = st.file_uploader("Prediction file", type=["json", "jsonl", "csv", "tsv", "txt"], key="import_upload")
    typed = st.text_input("or its path under the data folders", key="import_path")
    data = st.text_input("Dataset or coco annotations file (empty: the loaded dataset)", key="import_data")
    split = st.text_input("Split", value="test", key="import_split")
    groups = st.multiselect("Metrics", METRIC_GROUPS[:5], default=list(METRIC_GROUPS[:5]), key="import_metrics")
    allow_missing = st.checkbox("Leave out images without a prediction (else scored as empty)", key="import_missing")
    if not st.button("Score and keep as a run", key="import_go") or not (upload or typed.strip()):
        return
    try:
        if upload is not None:  # kept under RSIC_HOME so that the run's source path stays readable
            folder = paths.rsic_home() / "imports"
            folder.mkdir(parents=True, exist_ok=True)
            source = folder / Path(upload.name).name
            source.write_bytes(upload.getvalue())
            source = source.rename(folder / f"{file_sha256(source)[:12]}-{upload.name}")
        else:
            source = file_under_roots(typed)
        dataset = (
            file_under_roots(data)
            if data.strip().endswith(".json")
            else dataset_under_roots(data.strip() or state.dataset_path())
        )
        with st.spinner("Scoring..."):
            run, scores, report = import_predictions(
                source,
                dataset,
                split.strip(),
                ScoreConfig(score_metrics=tuple(groups)),
                allow_missing,
                root=root,
            )
    except (ValueError, OSError) as e:
        st.error(str(e))
        return
    st.success(f"Scored {scores.n_images:,} images into {run.name}: " + "; ".join(report.lines()))
