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
    at = open_page("views/compare.py", runs_root)
    assert {m.label for m in at.metric} >= {"BLEU-4", "METEOR", "ROUGE-L", "CIDEr", "Geo-Sim (mean)", "Geo-Sim (max)"}
    first = [m.value for m in at.markdown if m.value.startswith("**Prediction:**")][0]
    assert first == "**Prediction:** _empty_"  # the empty caption is the worst case
    assert "BLEU-4 **0.00**  \nMETEOR **0.00**" in markdown(at)  # its per-image scores beside it, x100 (2 decimals)
    assert len(at.get("image")) == 10 and len([m for m in at.markdown if m.value.startswith("**Prediction:**")]) == 10

    at.multiselect(key="compare_labels").set_value(["baseball field"]).run()  # class filter
    assert ":green[baseball]" in markdown(at)
    assert any("3 baseball fields predicted, the references say 2" in c.value for c in at.caption)
    at.multiselect(key="compare_labels").set_value(["café"]).run()  # most references name trees, the prediction not
    assert ":orange[**trees**]" in markdown(at)

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
    errors = next(d.value for d in at.dataframe if "error" in d.value.columns).set_index("error")
    assert errors.loc["hallucinated object", "images"] == 3


def test_runs_table_shows_metrics_side_by_side(runs_root, corpus_scores):
    at = open_page("views/runs.py", runs_root)
    table = at.dataframe[0].value.set_index("run")
    assert sorted(table.index) == ["lora-r8", "zero-shot"]
    assert table.loc["lora-r8", "adapter"] == "adapters/r8" and table.loc["zero-shot", "adapter"] == "(zero-shot)"
    assert table.loc["zero-shot", "CIDEr"] == pytest.approx(100 * corpus_scores.corpus["CIDEr"])
    assert "lora_r" not in table.columns  # no training run yet
    assert len(at.get("plotly_chart")) == 1


def test_efficiency_plots_cost_against_a_metric(runs_root):
    at = open_page("views/efficiency.py", runs_root)
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
    at = open_page("views/efficiency.py", str(tmp_path))
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


@pytest.mark.parametrize("page", ["views/runs.py", "views/efficiency.py"])
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


@pytest.mark.parametrize("page", ["views/compare.py", "views/runs.py", "views/efficiency.py"])
def test_pages_explain_what_to_do_without_runs(page, tmp_path):
    at = open_page(page, str(tmp_path))
    assert at.title and not at.error
    assert "rsic evaluate" in at.info[0].value


def test_compare_without_runs_evaluates_the_demo_model_on_request(tmp_path, demo_dir):
    at = open_page("views/compare.py", str(tmp_path))
    [b for b in at.button if b.label == "Evaluate the demo model on the test split"][0].click()
    at.run(timeout=600)
    assert not at.exception, [e.message for e in at.exception]
    folders = [p for p in tmp_path.iterdir() if (p / "metrics.json").is_file()]
    assert len(folders) == 1 and folders[0].name.endswith("demo-zero-shot")
    metrics = json.loads((folders[0] / "metrics.json").read_text())
    assert metrics["corpus"]["CIDEr"] > 0
    assert {m.label for m in at.metric} >= {"BLEU-4", "CIDEr"}, "the new run is shown at once"


def test_compare_shows_what_the_model_called_each_class(runs_root):
    at = open_page("views/compare.py", runs_root)
    assert "Scene confusion" in [t.label for t in at.tabs]
    counts = next(d.value for d in at.dataframe if "(none)" in d.value.columns)
    assert counts.loc["beach", "(none)"] == 1  # the empty caption names no class
    assert counts.loc["harbor", "harbor"] == 1 and counts.values.sum() == 10
    figure = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert figure["data"][0]["type"] == "heatmap" and "beach" in figure["data"][0]["y"]


def _runs_box(at):
    return next(t for t in at.text_input if t.label == "Runs folder")


def test_the_runs_folder_is_kept_while_hopping_between_the_run_pages(runs_root, tmp_path):
    at = open_page("views/compare.py", str(tmp_path))  # an empty folder first
    _runs_box(at).set_value(runs_root).run()  # typed on Compare
    assert any("lora-r8" in o for o in at.selectbox(key="compare_run").options)
    for page in ["views/runs.py", "views/efficiency.py", "views/compare.py", "views/runs.py", "views/efficiency.py"]:
        at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
        assert _runs_box(at).value == runs_root, page  # the box shows the folder on every page...
        assert not at.info, page  # ...and the page lists its runs ("No runs yet" is an info)
    _runs_box(at).set_value(str(tmp_path)).run()  # typed on Efficiency: the next page lists that folder
    at.switch_page("views/runs.py").run()
    assert _runs_box(at).value == str(tmp_path) and "No runs yet" in at.info[0].value

    _runs_box(at).set_value("runs").run()  # relative to the app's working folder: refused, the folder kept
    assert "absolute path" in at.error[0].value and _runs_box(at).value == str(tmp_path)
    _runs_box(at).set_value("").run()  # empty: the default runs folder, never the working folder
    from rsic_core.paths import runs_dir

    assert _runs_box(at).value == str(runs_dir()) and not at.error


def test_compare_says_no_image_matches_when_filters_leave_none(runs_root):
    at = open_page("views/compare.py", runs_root)
    at.multiselect(key="compare_labels").set_value(["beach"]).run()
    at.multiselect(key="compare_error_kinds").set_value(["wrong count"]).run()  # the beach image has none
    assert not at.exception, [e.message for e in at.exception]
    assert any("No image matches these filters" in i.value for i in at.info)


def test_compare_shows_scores_x100_and_says_whose_length_and_what_a_time_is(runs_root, corpus_scores):
    at = open_page("views/compare.py", runs_root)
    cider = next(m for m in at.metric if m.label == "CIDEr")
    assert cider.value == f"{100 * corpus_scores.corpus['CIDEr']:.2f}"  # as papers print it
    at.selectbox(key="compare_sort_by").set_value("BLEU-4").run()
    at.number_input(key="compare_at_most").set_value(0.0).run()  # 0 keeps the 1e-12 score shown as 0.00
    assert any("2 of 10 images" in c.value for c in at.caption)
    assert {t.label for t in at.tabs} >= {"By prediction length"}
    by_length = next(d for d in at.dataframe if "prediction length (words)" in d.value.columns)
    by_class = next(d for d in at.dataframe if "label" in d.value.columns).value.set_index("label")
    farmland = corpus_scores.per_image["farmland_3.jpg"]["CIDEr"]
    assert by_class.loc["farmland", "CIDEr"] == pytest.approx(100 * farmland)  # breakdowns x100 too
    formats = {c: v.get("type_config", {}).get("format") for c, v in json.loads(by_length.proto.columns).items()}
    assert formats["BLEU-4"] == formats["CIDEr"] == "%.2f"  # 2 decimals: a 1e-12 BLEU-4 reads 0.00
    assert any(c.value == "10 ms per image, batch average" for c in at.caption)  # the fixture's time, labelled


def test_evaluate_the_loaded_real_dataset_while_runs_of_another_exist(shared_data, tmp_path, corpus_scores):
    other = write_run(tmp_path, "demo-zero-shot", corpus_scores)  # a run made on another dataset
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["runs_root"] = str(tmp_path)
    at.session_state["dataset_path"] = str(shared_data / "ucm-sample")
    at.run()
    at.switch_page("views/compare.py").run()
    assert any("not on the loaded dataset ucm-sample" in w.value for w in at.warning)

    assert next(s for s in at.selectbox if s.label == "Split").options == ["test (42 images)"]
    at.number_input(key="evaluate_beams").set_value(2)
    at.number_input(key="evaluate_limit").set_value(3)
    at.number_input(key="evaluate_batch").set_value(1)  # each image timed alone
    next(b for b in at.button if b.label == "Evaluate").click()
    at.run(timeout=600)
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]

    [new] = [p for p in tmp_path.iterdir() if p not in (other, tmp_path / "images")]
    config = json.loads((new / "config.json").read_text())
    assert (config["dataset_name"], config["split"], config["n_images"]) == ("ucm-sample", "test", 3)
    assert config["caption"]["gen_num_beams"] == 2 and config["name"] == "demo-zero-shot-ucm-sample-test"
    assert json.loads((new / "metrics.json").read_text())["corpus"]["CIDEr"] >= 0
    run = at.selectbox(key="compare_run")
    assert run.value == str(new) and "ucm-sample/test \u00b7 demo \u00b7 (zero-shot)" in run.format_func(run.value)
    assert "fixture/test" in run.format_func(str(other))  # the other run names its own dataset
    assert not any("not on the loaded dataset" in w.value for w in at.warning)
    times = [c.value for c in at.caption if c.value.endswith(" ms")]
    assert len(times) == 3  # measured per image (batch size 1), not a batch average
    confusion = next(d.value for d in at.dataframe if "(none)" in d.value.columns or "airplane" in d.value.columns)
    assert len(confusion.index) == 3 and confusion.values.sum() == 3  # 3 images of 3 classes, not the first 3

    at.switch_page("views/runs.py").run()
    table = at.dataframe[0].value.set_index("folder")
    assert table.loc[new.name, "data"] == "ucm-sample" and table.loc[other.name, "data"] == "fixture"
    assert table.loc[new.name, "model"] == "demo" and table.loc[new.name, "status"] == "scored"


def test_compare_says_a_cancelled_training_run_has_no_predictions(tmp_path):
    run = tmp_path / "20261206-lora"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"kind": "training", "name": "lora", "data": "", "max_steps": 400}))
    (run / "status.json").write_text(
        json.dumps({"state": "cancelled", "step": 185, "message": "cancelled at step 185"})
    )
    at = open_page("views/compare.py", str(tmp_path))
    assert not at.exception, [e.message for e in at.exception]
    [note] = [i.value for i in at.info if "no predictions" in i.value]
    assert note.startswith("This run is cancelled (cancelled at step 185): it has no predictions to compare")
    assert not [w for w in at.warning if "not on the loaded dataset" in w.value]
    assert not [i for i in at.info if "No image matches these filters" in i.value]


def test_the_evaluate_bar_says_it_is_scoring_after_the_last_caption():
    from ui.runs_cache import _progress_text

    assert _progress_text(3, 210) == "Captioned 3 of 210"
    assert _progress_text(210, 210).startswith("Captioned 210 of 210; scoring them (BLEU, METEOR")
