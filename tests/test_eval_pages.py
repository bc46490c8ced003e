"""Compare, Runs and Efficiency pages on run folders written from scored predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.scoring import write_run

APP = str(Path(__file__).resolve().parents[1] / "app.py")
EFFICIENCY = {
    "params_total": 6_700_000,
    "params_trainable": 0,
    "gflops_per_image": 1.2,
    "latency_s_per_image": 0.015,
    "peak_memory_bytes": 250_000_000,
    "size_on_disk_bytes": 27_000_000,
    "dtype": "float32",
    "device": "cpu",
}


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory, corpus_scores):
    root = tmp_path_factory.mktemp("runs")
    write_run(root, "zero-shot", corpus_scores, efficiency=EFFICIENCY)
    write_run(
        root,
        "lora-r8",
        corpus_scores,
        adapter="adapters/r8",
        efficiency={**EFFICIENCY, "params_trainable": 90_000, "gflops_per_image": 1.3},
    )
    return str(root)


def open_page(page: str, root: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["runs_root"] = root
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_compare_shows_worst_cases_with_highlights_and_errors(runs_root):
    at = open_page("pages/compare.py", runs_root)
    assert {m.label for m in at.metric} >= {"BLEU-4", "METEOR", "ROUGE-L", "CIDEr", "Geo-Sim (mean)", "Geo-Sim (max)"}
    first = [m.value for m in at.markdown if m.value.startswith("**Prediction:**")][0]
    assert first == "**Prediction:** _empty_"  # the empty caption is the worst case
    assert "BLEU-4 **0.000**  \nMETEOR **0.000**" in markdown(at)  # its per-image scores beside it
    assert len(at.get("image")) == 10 and len([m for m in at.markdown if m.value.startswith("**Prediction:**")]) == 10

    at.multiselect(key="compare_labels").set_value(["baseball field"]).run()  # class filter
    text = markdown(at)
    assert ":green[baseball]" in text and ":orange[**two**]" in text
    assert any("3 field(s) predicted, the references say 2" in c.value for c in at.caption)

    at.multiselect(key="compare_labels").set_value([]).run()
    at.number_input(key="compare_at_most").set_value(0.0).run()  # BLEU-1 at most 0: only the empty caption is left
    assert any("1 of 10 images" in c.value for c in at.caption)
    at.selectbox(key="compare_sort_by").set_value("CIDEr").run()  # another metric: the threshold starts empty
    assert at.number_input(key="compare_at_most").value is None and any(
        "10 of 10 images" in c.value for c in at.caption
    )
    at.multiselect(key="compare_error_kinds").set_value(["hallucinated object"]).run()
    assert any("3 of 10 images" in c.value for c in at.caption)
    assert ":red[~~boats~~]" in markdown(at)
    errors = at.dataframe[-2].value.set_index("error")
    assert errors.loc["hallucinated object", "images"] == 3


def test_runs_table_shows_metrics_side_by_side(runs_root, corpus_scores):
    at = open_page("pages/runs.py", runs_root)
    table = at.dataframe[0].value.set_index("run")
    assert sorted(table.index) == ["lora-r8", "zero-shot"]
    assert table.loc["lora-r8", "adapter"] == "adapters/r8" and table.loc["zero-shot", "adapter"] == "(zero-shot)"
    assert table.loc["zero-shot", "CIDEr"] == pytest.approx(100 * corpus_scores.corpus["CIDEr"])
    assert "lora_r" not in table.columns  # no training run yet
    assert len(at.get("plotly_chart")) == 1


def test_efficiency_plots_cost_against_a_metric(runs_root):
    at = open_page("pages/efficiency.py", runs_root)
    table = at.dataframe[0].value.set_index("run")
    assert table.loc["lora-r8", "trainable (M)"] == pytest.approx(0.09)
    assert table.loc["zero-shot", "latency (ms/image)"] == pytest.approx(15)
    assert len(at.get("plotly_chart")) == 1
    at.selectbox(key="efficiency_cost").set_value("latency (ms/image)").run()
    assert not at.exception and len(at.get("plotly_chart")) == 1
    assert not at.warning  # both runs were scored on the same images


def _figure(at) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def test_efficiency_axes_start_at_zero_on_the_runs_page_scale(tmp_path, corpus_scores):
    write_run(tmp_path, "only-run", corpus_scores, efficiency=EFFICIENCY)  # one point: no negative axes
    at = open_page("pages/efficiency.py", str(tmp_path))
    figure = _figure(at)
    x, y = figure["layout"]["xaxis"], figure["layout"]["yaxis"]
    cider = 100 * corpus_scores.corpus["CIDEr"]
    assert x["range"][0] == 0 and x["range"][1] > 1.2 and y["range"][0] == 0 and y["range"][1] > cider
    assert "x100" in y["title"]["text"] and y["range"][1] < 2 * cider  # the same x100 scale as the Runs page
    assert figure["data"][0]["cliponaxis"] is False  # the point's label is not cut at the edge


def _rescope(folder, n_images: int, split: str) -> None:
    """Mark a written run as scored on another image set (as a smaller evaluation would be)."""
    from rsic_core.runs.layout import RunLayout, write_json

    layout = RunLayout(folder)
    write_json(
        folder, RunLayout.METRICS, {**json.loads(layout.metrics.read_text(encoding="utf-8")), "n_images": n_images}
    )
    layout.update_config(split=split)


@pytest.mark.parametrize("page", ["pages/runs.py", "pages/efficiency.py"])
def test_runs_scored_on_different_images_are_flagged(page, tmp_path, corpus_scores):
    small = write_run(tmp_path, "zero-shot", corpus_scores, efficiency=EFFICIENCY)
    large = write_run(tmp_path, "lora-r8", corpus_scores, adapter="adapters/r8", efficiency=EFFICIENCY)
    _rescope(small, 12, "val")
    at = open_page(page, str(tmp_path))
    warning = " ".join(w.value for w in at.warning)
    assert "different image sets" in warning and small.name in warning and large.name in warning
    table = at.dataframe[0].value.set_index("folder")
    assert table.loc[small.name, "images"] == 12 and table.loc[small.name, "split"] == "val"
    assert table.loc[large.name, "images"] == 10 and table.loc[large.name, "run"] == "lora-r8"


@pytest.mark.parametrize("page", ["pages/compare.py", "pages/runs.py", "pages/efficiency.py"])
def test_pages_explain_what_to_do_without_runs(page, tmp_path):
    at = open_page(page, str(tmp_path))
    assert at.title and not at.error
    assert "rsic evaluate" in at.info[0].value


def test_compare_without_runs_evaluates_the_demo_model_on_request(tmp_path, demo_dir):
    at = open_page("pages/compare.py", str(tmp_path))
    [b for b in at.button if b.label == "Evaluate the demo model on the test split"][0].click()
    at.run(timeout=600)
    assert not at.exception, [e.message for e in at.exception]
    folders = [p for p in tmp_path.iterdir() if (p / "metrics.json").is_file()]
    assert len(folders) == 1 and folders[0].name.endswith("demo-zero-shot")
    metrics = json.loads((folders[0] / "metrics.json").read_text())
    assert metrics["corpus"]["CIDEr"] > 0
    assert {m.label for m in at.metric} >= {"BLEU-4", "CIDEr"}, "the new run is shown at once"
