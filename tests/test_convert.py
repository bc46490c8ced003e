"""Released checkpoints: reading them safely (rsic_core.models.checkpoints) and `rsic convert`."""

from __future__ import annotations

import pytest

from rsic_core.models.checkpoints import compare_keys, read_state_dict

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("legacy", [False, True])
def test_a_bare_state_dict_is_read_in_both_formats_with_its_prefix_removed(tmp_path, legacy):
    import torch

    path = tmp_path / "model.pth"
    state = {"module.a.weight": torch.ones(2, 3), "module.b.index": torch.arange(4)}
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    read = read_state_dict(path)
    assert sorted(read) == ["a.weight", "b.index"]
    assert torch.equal(read["b.index"], torch.arange(4)) and read["b.index"].dtype == torch.int64


def test_a_wrapped_state_dict_is_read_from_its_container(tmp_path):
    import torch

    path = tmp_path / "checkpoint_best.pth"
    torch.save({"model": {"q.weight": torch.zeros(2)}, "epoch": 3, "config": {"lr": 1e-4}}, path)
    assert list(read_state_dict(path, container_key="model", strip_prefix="")) == ["q.weight"]
    with pytest.raises(ValueError, match="has no 'weights' entry holding the weights .*model, epoch, config"):
        read_state_dict(path, container_key="weights")
    with pytest.raises(ValueError, match="entry 'model' is a dict, not a tensor"):
        read_state_dict(path)


def test_files_that_are_not_plain_state_dicts_get_one_sentence(tmp_path):
    import argparse

    import torch

    with pytest.raises(FileNotFoundError, match="no such checkpoint file"):
        read_state_dict(tmp_path / "nowhere.pth")
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not a PyTorch checkpoint") as refused:
        read_state_dict(text)
    assert "weights_only` set to `False" not in str(refused.value)  # torch's advice to unpickle is not passed on
    pickled = tmp_path / "pickled.pth"
    torch.save({"w": torch.ones(1), "args": argparse.Namespace(lr=1)}, pickled)
    with pytest.raises(ValueError, match="refused: the file holds pickled objects"):
        read_state_dict(pickled)
    listed = tmp_path / "list.pth"
    torch.save([torch.ones(1)], listed)
    with pytest.raises(ValueError, match="holds a list, not a dict of tensors"):
        read_state_dict(listed)


def test_the_key_check_names_what_is_missing_unexpected_or_mis_shaped():
    import torch

    with torch.device("meta"):
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    expected = model.state_dict()
    good = {k: torch.zeros(v.shape) for k, v in expected.items()}
    check = compare_keys(good, expected, dropped=1)
    assert check.ok and check.sentence() == "5 of 5 keys mapped"

    bad = dict(good)
    del bad["1.bias"]
    bad["0.weight"] = torch.zeros(4, 5)
    bad["2.weight"] = torch.zeros(1)
    check = compare_keys(bad, expected, unmapped=["head.fc.weight"])
    assert not check.ok
    assert check.missing == ["1.bias"] and check.unexpected == ["head.fc.weight", "2.weight"]
    assert check.mis_shaped == [("0.weight", (4, 5), (4, 3))]
    sentence = check.sentence("caption_model_27.pth")
    assert sentence.startswith("caption_model_27.pth does not fit the model (2 of 5 keys mapped): 1 missing (1.bias)")
    assert "0.weight: [4, 5] in the file, [4, 3] in the model" in sentence and "\n" not in sentence
    assert compare_keys({}, expected, skip_missing=("0.", "1.")).ok


def _reference():
    from tests.support.puret import reference_state

    return reference_state()


@pytest.mark.parametrize("legacy", [True, False])
def test_the_released_puret_file_maps_every_key_at_real_shapes(tmp_path, capsys, legacy):
    """The 513 keys of the release (39 buffers, module. prefix, legacy or zip file) all land on the model (meta)."""
    import torch

    from rsic_core.cli import main

    path = tmp_path / "caption_model_27.pth"
    torch.save(_reference(), path, _use_new_zipfile_serialization=not legacy)
    assert main(["convert", "puret", str(path), "--check-only"]) == 0
    assert capsys.readouterr().out.strip() == "513 of 513 keys mapped"


def test_a_released_file_with_a_wrong_shape_and_a_missing_key_is_named_in_one_sentence(tmp_path, capsys):
    import torch

    from rsic_core.cli import main

    state = _reference()
    del state["module.decoder.layers.2.fuse_layer.0.bias"]
    state["module.encoder.layers.0.ff_layer.fc1.weight"] = torch.zeros(1).expand(2048, 256)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    assert main(["convert", "puret", str(path), "--check-only"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and error.startswith("rsic: error: broken.pth does not fit the model (511 of 512 keys")
    assert "1 missing (decoder.layers.2.fuse_layer.0.bias)" in error
    assert "encoder.layers.0.ff_layer.fc1.weight: [2048, 256] in the file, [2048, 512] in the model" in error


@pytest.fixture(scope="module")
def tiny_release(tmp_path_factory):
    """A taught tiny PureT, its weights in the release's layout (legacy file), its vocabulary file and Swin folder."""
    import torch
    from transformers import SwinModel

    from rsic_core.models.registry import build_tiny
    from tests.support.captioning import CAPTIONS, teach
    from tests.support.puret import release_state

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("tiny-release")
    captioner = build_tiny("puret", captions=list(CAPTIONS.values()) * 4)
    teach(captioner, steps=60)
    torch.save(release_state(captioner.model), folder / "caption_model_1.pth", _use_new_zipfile_serialization=False)
    words = captioner.processor.tokenizer.convert_ids_to_tokens(list(range(1, captioner.model.config.vocab_size)))
    (folder / "vocabulary.txt").write_text("\n".join(words) + "\n")
    SwinModel(captioner.model.config.backbone_config).save_pretrained(folder / "swin")  # config only is used
    return captioner, folder


def test_a_converted_tiny_release_opens_and_captions_as_the_original(tiny_release, tmp_path, capsys):
    import torch

    from rsic_core.cli import main
    from rsic_core.models.inference import CaptionConfig, caption_images
    from rsic_core.models.registry import load_captioner
    from tests.support.captioning import colour_images

    original, folder = tiny_release
    out = tmp_path / "converted"
    args = ["convert", "puret", str(folder / "caption_model_1.pth"), "--out", str(out)]
    assert main([*args, "--vocab", str(folder / "vocabulary.txt"), "--backbone", str(folder / "swin")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{len(torch.load(folder / 'caption_model_1.pth'))} of ") and str(out) in printed
    converted = load_captioner(out)
    assert converted.model.generation_config.num_beams == 5 and converted.model.generation_config.max_new_tokens == 17
    batch = original.family.encode(original.processor, colour_images(), ["a red roof", "a lake", "many trees"])
    with torch.no_grad():
        assert torch.allclose(converted.model(**batch).logits, original.model.eval()(**batch).logits, atol=1e-5)
    config = CaptionConfig(gen_num_beams=1)
    assert [r.caption for r in caption_images(converted, colour_images(), config)] == [
        r.caption for r in caption_images(original, colour_images(), config)
    ]


def test_a_conversion_that_cannot_be_done_writes_nothing(tiny_release, tmp_path, capsys):
    import torch

    from rsic_core.cli import main

    original, folder = tiny_release
    path = folder / "caption_model_1.pth"
    swin = ["--backbone", str(folder / "swin")]
    out = tmp_path / "out"
    cases = {
        "--vocab is needed": [str(path), "--out", str(out), *swin],
        "3 words, but the checkpoint's generator has": [str(path), "--out", str(out), "--vocab", str(tmp_path / "v3")],
        "does not fit the model": [
            str(tmp_path / "bad.pth"),
            "--out",
            str(out),
            "--vocab",
            str(folder / "vocabulary.txt"),
        ],
        "not an empty folder": [str(path), "--out", str(folder), "--vocab", str(folder / "vocabulary.txt"), *swin],
    }
    (tmp_path / "v3").write_text("a\nb\nc\n")
    state = torch.load(path)
    state["module.decoder.generator.bias"] = torch.zeros(3)
    torch.save(state, tmp_path / "bad.pth")
    for sentence, args in cases.items():
        assert main(["convert", "puret", *args]) == 2, sentence
        error = capsys.readouterr().err
        assert sentence in error and error.count("\n") == 1
        assert not out.exists()
