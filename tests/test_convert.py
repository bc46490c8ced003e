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
    with pytest.raises(ValueError, match="not a PyTorch checkpoint"):
        read_state_dict(text)
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
