"""`rsic model new`: a tiny random model of any family, its tokenizer trained on a dataset, opened like any model folder."""

from __future__ import annotations

import json

import pytest

from rsic_core.cli import main


def _new(tmp_path, family: str, *options: str):
    out = tmp_path / family
    return main(["model", "new", family, "--out", str(out), *options]), out


@pytest.mark.parametrize(
    ("family", "text"),
    [("paligemma2", {"num_hidden_layers": 1}), ("blip2-opt", {"num_hidden_layers": 1, "hidden_size": 48})],
)
def test_a_new_model_opens_and_captions(tmp_path, demo_dir, one_thread, capsys, family, text):
    from rsic_core.data.datasets import load_dataset
    from rsic_core.models.inference import CaptionConfig, caption_images
    from rsic_core.models.registry import load_captioner

    code, out = _new(tmp_path, family, "--data", str(demo_dir), "--vocab-size", "400", "--text", json.dumps(text))
    assert code == 0, capsys.readouterr().err
    assert "wrote a random" in capsys.readouterr().out
    captioner = load_captioner(out, device="cpu")
    assert captioner.family.name == family
    assert captioner.model.config.text_config.num_hidden_layers == 1  # the size given on the command line
    vocabulary = captioner.processor.tokenizer.get_vocab()
    assert any(token.lstrip("Ġ") == "baseball" for token in vocabulary)  # trained on the demo captions
    record = load_dataset(demo_dir).select(split="test")[0]
    [result] = caption_images(captioner, [record.path], CaptionConfig(gen_max_new_tokens=5))
    assert result.ok, result.error


def test_bad_sizes_and_folders_are_one_sentence_and_write_nothing(tmp_path, demo_dir, capsys):
    code, out = _new(tmp_path, "blip", "--data", str(demo_dir), "--vision", '{"hiden_size": 32}')
    error = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert error == "rsic: error: --vision: hiden_size is not a config field of BLIP (did you mean hidden_size?)"

    code, _ = _new(tmp_path, "blip", "--text", "{hidden_size: 32}")
    assert code == 2 and "--text: not valid JSON" in capsys.readouterr().err

    (tmp_path / "blip").mkdir()
    (tmp_path / "blip" / "notes.txt").write_text("keep me")
    code, _ = _new(tmp_path, "blip")
    assert code == 2 and "already holds files" in capsys.readouterr().err
    assert (tmp_path / "blip" / "notes.txt").read_text() == "keep me"

    assert main(["model", "new", "gpt5", "--out", str(tmp_path / "x")]) == 2
    assert "unknown family 'gpt5'" in capsys.readouterr().err


def test_families_are_listed(capsys):
    from rsic_core.models.registry import FAMILIES

    assert main(["model", "new", "list"]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == list(FAMILIES)
