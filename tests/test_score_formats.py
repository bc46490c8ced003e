"""`rsic score` reads the prediction files people have, matched to the real UCM-captions val references.

Each format is written from the real references in ../shared; the scores must equal pycocoevalcap's
(its own PTBTokenizer, Bleu, Rouge and Cider, called as its README shows) on the same pairs to 1e-9.
METEOR's equality is proven in test_metrics.py; here it is left out so that no second JVM starts.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from rsic_core.cli import main
from rsic_core.runs import layout as runs

FAST = "bleu,rouge,cider"


@pytest.fixture(scope="module")
def ucm_val():
    """[(filename, imgid, references, prediction)] of UCM-captions val; each prediction is a reference of the
    next image (often another class): real captions, imperfect scores."""
    from tests.support.shared import shared_path

    data = shared_path("data", "ucm-captions")
    entries = json.loads((data / "dataset_ucm.json").read_text())["images"]
    val = [e for e in entries if e["split"] == "val"]
    refs = [[s["raw"] for s in e["sentences"]] for e in val]
    preds = [refs[(k + 1) % len(val)][k % 5].lower().rstrip(" .") for k in range(len(val))]
    return data, [(e["filename"], e["imgid"], r, p) for e, r, p in zip(val, refs, preds)]


def _coco_scores(pairs) -> dict[str, float]:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tok = PTBTokenizer()
    gts = tok.tokenize({name: [{"caption": c} for c in refs] for name, _, refs, _ in pairs})
    res = tok.tokenize({name: [{"caption": pred}] for name, _, _, pred in pairs})
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    out = {f"BLEU-{n + 1}": b for n, b in enumerate(bleu)}
    out["ROUGE-L"] = Rouge().compute_score(gts, res)[0]
    out["CIDEr"] = Cider().compute_score(gts, res)[0]
    return out


@pytest.fixture(scope="module")
def expected(ucm_val):
    return _coco_scores(ucm_val[1])


def _fold(text: str) -> str:
    return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())


def _write(folder: Path, fmt: str, pairs) -> tuple[Path, list[str]]:
    """The file of format ``fmt`` and the extra `rsic score` options it needs."""
    if fmt == "coco results by imgid":
        file = folder / "results.json"
        file.write_text(json.dumps([{"image_id": imgid, "caption": p} for _, imgid, _, p in pairs]))
    elif fmt == "coco results by file name, coco annotations file":
        ann = folder / "captions_val.json"
        images = [{"id": 1000 + k, "file_name": name} for k, (name, _, _, _) in enumerate(pairs)]
        anns = [{"image_id": 1000 + k, "caption": c} for k, (_, _, refs, _) in enumerate(pairs) for c in refs]
        ann.write_text(json.dumps({"images": images, "annotations": anns}))
        file = folder / "results.json"
        file.write_text(json.dumps([{"image_id": name, "caption": p} for name, _, _, p in pairs]))
        return file, ["--data", str(ann)]
    elif fmt == "JSONL answer + refs list, no dataset":
        file = folder / "outputs.jsonl"
        lines = [json.dumps({"id": name, "answer": p, "refs": refs}) for name, _, refs, p in pairs]
        file.write_text("\n".join(lines) + "\n")
        return file, []
    elif fmt == "CSV numbered references, no id":
        file = folder / "eval.csv"
        with open(file, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["pred", *(f"ref_{k}" for k in range(1, 6))])
            w.writerows([p, *refs] for _, _, refs, p in pairs)
    elif fmt == "CSV folded references, no id":
        file = folder / "eval.csv"
        with open(file, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["prediction", *(f"caption{k}" for k in range(5))])
            w.writerows([p, *(_fold(r) for r in refs)] for _, _, refs, p in pairs)
    elif fmt == "text filename<TAB>caption":
        file = folder / "captions.txt"
        file.write_text("".join(f"{Path(name).stem}\t{p}\n" for name, _, _, p in pairs))
    elif fmt == "predictions.jsonl":
        file = folder / "predictions.jsonl"
        lines = [json.dumps({"image_id": name, "prediction": p, "references": refs}) for name, _, refs, p in pairs]
        file.write_text("\n".join(lines) + "\n")
        return file, []
    return file, []


FORMATS = {
    "coco results by imgid": "210 of 210 predictions matched by Karpathy imgid",
    "coco results by file name, coco annotations file": "210 of 210 predictions matched by file name",
    "JSONL answer + refs list, no dataset": "210 predictions with their own references",
    "CSV numbered references, no id": "210 of 210 predictions matched by their reference sets",
    "CSV folded references, no id": "(210 after lower-casing and removing punctuation)",
    "text filename<TAB>caption": "210 of 210 predictions matched by file name without extension",
    "predictions.jsonl": None,
}


def _score(capsys, *argv) -> tuple[int, dict | str]:
    code = main(["score", *map(str, argv)])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 and "--json" in argv else captured.out + captured.err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_scores_as_pycocoevalcap(fmt, ucm_val, expected, tmp_path, capsys):
    data, pairs = ucm_val
    file, extra = _write(tmp_path, fmt, pairs)
    if not extra and fmt not in ("JSONL answer + refs list, no dataset", "predictions.jsonl"):
        extra = ["--data", data, "--split", "val"]
    out = tmp_path / "run"
    code, text = _score(capsys, file, *extra, "--metrics", FAST, "--out", out)
    assert code == 0, text
    if FORMATS[fmt]:
        assert FORMATS[fmt] in text
    assert "every one of the split's 210 images has a prediction" in text or "--data" not in extra
    run = runs.load_run(out)
    assert run.corpus.keys() == expected.keys()
    for metric, value in expected.items():
        assert run.corpus[metric] == pytest.approx(value, abs=1e-9), metric
    assert run.config["kind"] == "imported"
    assert run.config["source"] == str(file.resolve())
    assert run.config["source_sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    protocol = run.metrics["protocol"]
    assert protocol["images"] == 210 and protocol["references_per_image"] == {"min": 5, "median": 5, "max": 5}
    assert "PTB" in protocol["tokenizer"] and protocol["level"].startswith("corpus")
    if "--data" in extra and extra[1] == str(data):
        assert (run.config["dataset"], run.config["split"]) == ("ucm-captions-trainval", "val")


def test_missing_images_are_scored_as_missing_unless_allowed(ucm_val, tmp_path, capsys):
    data, pairs = ucm_val
    file, _ = _write(tmp_path, "coco results by imgid", pairs[10:])
    code, text = _score(capsys, file, "--data", data, "--split", "val", "--metrics", "bleu", "--out", tmp_path / "a")
    assert code == 0, text
    assert "10 of the split's 210 images have no prediction: scored as missing" in text
    assert "200 of 200 predictions matched by Karpathy imgid" in text
    missing = runs.load_run(tmp_path / "a")
    assert missing.metrics["n_images"] == 210
    assert all(p.scores["BLEU-1"] == 0 for p in missing.predictions if p.image_id in {n for n, *_ in pairs[:10]})

    code, text = _score(
        capsys, file, "--data", data, "--split", "val", "--metrics", FAST, "--allow-missing", "--out", tmp_path / "b"
    )
    assert code == 0 and "left out" in text
    allowed = runs.load_run(tmp_path / "b")
    assert allowed.metrics["n_images"] == 200
    assert allowed.corpus["BLEU-4"] > missing.corpus["BLEU-4"]


def _bad(tmp_path, name: str, text: str) -> Path:
    file = tmp_path / name
    file.write_text(text)
    return file


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("unknown.txt", "91.jpg\ta road\n9999.jpg\ta road\n", "line 2: image id '9999.jpg' is no image of the split"),
        ("twice.txt", "91.jpg\ta road\n92.jpg\tx\n91\ta house\n", "line 3: a second prediction for image '91.jpg'"),
        ("no_tab.txt", "91.jpg a road\n", "line 1: expected filename<TAB>caption"),
        ("refs.csv", 'prediction,references\nx,"[""no such caption""]"\n', "line 2: its references are the reference"),
        ("bad.csv", 'prediction,references\nx,"a road"\n', "line 2: references ('references') must be a JSON list"),
        ("nothing.json", '[{"caption": "a road"}]', "neither an image id nor references"),
        ("noref.json", '[{"image_id": 1, "caption": "a"}]', None),
        ("list.json", '[{"image_id": 80, "caption": 3}]', "entry 1: the prediction ('caption') must be a text"),
    ],
)
def test_bad_rows_are_one_sentence_naming_the_row(name, text, says, ucm_val, tmp_path, capsys):
    data, _ = ucm_val
    file = _bad(tmp_path, name, text)
    argv = [file, "--metrics", "bleu", "--out", tmp_path / "run"]
    if name != "noref.json":
        argv += ["--data", data, "--split", "val"]
    code, out = _score(capsys, *argv)
    lines = [line for line in out.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("rsic: error: "), out
    assert str(file) in lines[0]
    assert (says or "no references: give the dataset") in lines[0]
    assert not (tmp_path / "run").exists()


def test_ids_that_match_two_ways_equally_ask_which(ucm_val, tmp_path, capsys):
    """UCM val is 91..100.jpg with imgids 90..99: ids 91..99 are 92..100.jpg as imgids and 91..99.jpg as file
    names without extension, 9 matches either way, different images."""
    data, _ = ucm_val
    file = _bad(tmp_path, "ids.json", json.dumps([{"image_id": k, "caption": "a road"} for k in range(91, 100)]))
    code, out = _score(capsys, file, "--data", data, "--split", "val", "--metrics", "bleu")
    assert code == 2 and "say which with --match" in out, out
    code, out = _score(capsys, file, "--data", data, "--split", "val", "--metrics", "bleu", "--match", "imgid")
    assert code == 0 and "9 of 9 predictions matched by Karpathy imgid" in out


def test_protocols_side_by_side(ucm_val, tmp_path, capsys):
    """--protocols: the first-5-references protocol equals coco-caption on 5 references; the others move."""
    _, pairs = ucm_val
    file, _ = _write(tmp_path, "JSONL answer + refs list, no dataset", pairs[:40])
    code, result = _score(capsys, file, "--metrics", "bleu,meteor,rouge,cider", "--protocols", "--k", "5", "--json")
    assert code == 0, result
    corpus, protocols = result["corpus"], result["protocols"]
    for metric in ("BLEU-4", "METEOR", "ROUGE-L", "CIDEr"):
        assert protocols["coco-caption, first 5 references"][metric] == pytest.approx(corpus[metric], abs=1e-9)
    sentence = protocols["mean sentence BLEU (nltk, smoothing 1)"]["BLEU-4"]
    assert 0 < sentence < 1 and abs(sentence - corpus["BLEU-4"]) > 1e-3
    assert 0 < protocols["ROUGE-L (rouge_score, mean over references)"]["ROUGE-L"] < 1
    meteor = protocols["METEOR (nltk, WordNet)"]
    assert "skipped" in meteor or 0 < meteor["METEOR"] < 1
    assert set(protocols["coco-caption, captions lower-cased, punctuation stripped"]) >= {"BLEU-4", "CIDEr"}


def test_runs_page_imports_a_prediction_file(ucm_val, expected, tmp_path, monkeypatch):
    """The Runs page's "Import predictions" scores a file under the data folders into a listed run; a bad
    file is one st.error and no run."""
    from streamlit.testing.v1 import AppTest

    data, pairs = ucm_val
    monkeypatch.setenv("RSIC_DATA_ROOTS", f"{data}:{tmp_path}")
    file, _ = _write(tmp_path, "text filename<TAB>caption", pairs)
    bad = _bad(tmp_path, "bad.txt", "91.jpg\ta road\n9999.jpg\ta road\n")
    root = tmp_path / "runs"
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.session_state["runs_root"] = str(root)
    at.run()
    at.switch_page("views/runs.py").run()
    at.text_input(key="import_data").set_value(str(data))
    at.text_input(key="import_split").set_value("val")
    at.multiselect(key="import_metrics").set_value(["bleu", "rouge", "cider"])
    at.text_input(key="import_path").set_value(str(bad))
    at.button(key="import_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.error) == 1 and "line 2: image id '9999.jpg' is no image of the split" in at.error[0].value
    assert not root.exists() or not any(root.iterdir())

    at.text_input(key="import_path").set_value(str(file))
    at.button(key="import_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "210 of 210 predictions matched by file name without extension" in at.success[0].value
    table = at.dataframe[0].value.set_index("run")
    assert table["CIDEr"].iloc[0] == pytest.approx(100 * expected["CIDEr"], abs=1e-7)
    (run,) = runs.list_runs(root)
    assert run.config["kind"] == "imported" and run.config["source"] == str(file.resolve())


def test_compare_reads_any_format_rsic_score_reads(ucm_val, tmp_path, capsys):
    """rsic compare: a coco results file against the same captions as a filename<TAB>caption file differs by zero;
    the first reference of each image (as a CSV with its references) beats them."""
    data, pairs = ucm_val
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir(), (tmp_path / "c").mkdir()
    coco, _ = _write(tmp_path / "a", "coco results by imgid", pairs)
    text, _ = _write(tmp_path / "b", "text filename<TAB>caption", pairs)
    better = [(name, imgid, refs, refs[0].lower().rstrip(" .")) for name, imgid, refs, _ in pairs]
    jsonl, _ = _write(tmp_path / "c", "predictions.jsonl", better)
    common = ["--metrics", "bleu,cider", "--resamples", "200", "--json"]

    assert main(["compare", str(coco), str(text), "--data", str(data), "--split", "val", *common]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["BLEU-4"]["delta"] == 0 and same["CIDEr"]["low"] == 0 == same["CIDEr"]["high"]

    assert main(["compare", str(jsonl), str(coco), "--data", str(data), "--split", "val", *common]) == 0
    won = json.loads(capsys.readouterr().out)
    assert won["CIDEr"]["low"] > 0 and won["CIDEr"]["a_wins"] == 1.0
