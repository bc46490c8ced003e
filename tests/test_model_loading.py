"""Opening model and adapter folders: safetensors only, and one sentence for every broken part."""

from __future__ import annotations

import pickle
import shutil

import pytest

from rsic_core.models.base import choose_device
from rsic_core.models.registry import build_tiny, load_captioner
from tests.bad_inputs.models import break_model_folder
from tests.support.captioning import colour_images

pytestmark = pytest.mark.usefixtures("one_thread")


class Planted:
    """Unpickling this writes a marker file: proof that a pickle was (or was not) loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny("paligemma").save(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory):
    from peft import LoraConfig, get_peft_model

    folder = tmp_path_factory.mktemp("adapter") / "adapter"
    model = get_peft_model(build_tiny("paligemma").model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    model.save_pretrained(folder)
    return folder


def copy_of(folder, tmp_path, name="copy"):
    return shutil.copytree(folder, tmp_path / name)


def test_pickled_model_weights_are_refused_without_being_unpickled(model_dir, tmp_path):
    folder = copy_of(model_dir, tmp_path)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "code-ran"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(ValueError, match=r"pickled \(pytorch_model.bin\).*pickle can run any code"):
        load_captioner(folder)
    assert not marker.exists()


def test_a_pickle_beside_safetensors_weights_is_never_read(model_dir, tmp_path):
    folder = copy_of(model_dir, tmp_path)
    marker = tmp_path / "code-ran"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Planted(marker)))
    assert load_captioner(folder).family.name == "paligemma"
    assert not marker.exists()


def test_pickled_adapter_weights_are_refused_without_being_unpickled(model_dir, adapter_dir, tmp_path):
    adapter = copy_of(adapter_dir, tmp_path)
    (adapter / "adapter_model.safetensors").unlink()
    marker = tmp_path / "code-ran"
    (adapter / "adapter_model.bin").write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(ValueError, match=r"adapter weights are pickled \(adapter_model.bin\)"):
        load_captioner(model_dir, adapter=adapter)
    assert not marker.exists()


@pytest.mark.parametrize(
    "breakage, error, expected",
    [
        ("config.json not JSON", ValueError, r"config.json is not valid JSON \(line 1, column 2"),
        ("config.json a list", ValueError, r"config.json does not hold a JSON object"),
        ("config.json without model_type", ValueError, r"config.json names no model_type"),
        ("config.json with a wrong value", ValueError, r"config.json cannot be read as a model config .*hidden_size"),
        ("no weights", FileNotFoundError, r"no model weights \(model.safetensors\)"),
        ("truncated weights", ValueError, r"the weights are truncated or corrupt"),
        ("weights of other sizes", ValueError, r"the weights do not fit config.json"),
        ("no processor files", FileNotFoundError, r"no processor files"),
        ("no tokenizer files", FileNotFoundError, r"no tokenizer files"),
        ("broken tokenizer.json", ValueError, r"the processor files cannot be read"),
    ],
)
def test_each_broken_part_of_a_model_folder_is_named_in_one_sentence(model_dir, tmp_path, breakage, error, expected):
    folder = copy_of(model_dir, tmp_path)
    break_model_folder(folder, breakage)
    with pytest.raises(error, match=expected) as raised:
        load_captioner(folder)
    assert str(folder) in str(raised.value) and "\n" not in str(raised.value)


def test_an_adapter_without_weights_says_so(model_dir, adapter_dir, tmp_path):
    adapter = copy_of(adapter_dir, tmp_path)
    (adapter / "adapter_model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=rf"no adapter weights \(adapter_model.safetensors\) in {adapter}$"):
        load_captioner(model_dir, adapter=adapter)


def test_an_adapter_for_other_layer_sizes_names_the_adapter_and_the_model(model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model

    wider = build_tiny("paligemma", text={"hidden_size": 64})
    get_peft_model(wider.model, LoraConfig(r=4, target_modules=["q_proj"])).save_pretrained(tmp_path / "wide")
    with pytest.raises(ValueError) as raised:
        load_captioner(model_dir, adapter=tmp_path / "wide")
    message = str(raised.value)
    assert f"adapter {tmp_path / 'wide'} does not fit model {model_dir}" in message
    assert "[4, 64] in the adapter, [4, 32] in the model" in message and "\n" not in message


def test_an_adapter_of_another_family_names_the_missing_modules(model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model

    blip = build_tiny("blip")
    get_peft_model(blip.model, LoraConfig(r=4, target_modules=["query", "value"])).save_pretrained(tmp_path / "blip")
    with pytest.raises(ValueError, match=r"does not fit model .*Target modules .* not found in the base model$"):
        load_captioner(model_dir, adapter=tmp_path / "blip")


def test_truncated_adapter_weights_and_a_broken_adapter_config_are_named(model_dir, adapter_dir, tmp_path):
    adapter = copy_of(adapter_dir, tmp_path)
    weights = adapter / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ValueError, match="adapter_model.safetensors: the adapter weights are truncated or corrupt"):
        load_captioner(model_dir, adapter=adapter)
    (adapter / "adapter_config.json").write_text("{")
    with pytest.raises(ValueError, match=r"adapter_config.json is not valid JSON"):
        load_captioner(model_dir, adapter=adapter)


def test_a_good_folder_and_adapter_still_caption(model_dir, adapter_dir):
    from rsic_core.models.inference import caption_images

    captioner = load_captioner(model_dir, adapter=adapter_dir)
    assert captioner.adapter == str(adapter_dir)
    assert all(r.ok for r in caption_images(captioner, colour_images()))


@pytest.mark.parametrize(
    "device, expected",
    [
        ("foo", r"unknown device 'foo'; use cpu, cuda, cuda:N, mps or auto"),
        ("cuda:x", r"unknown device 'cuda:x'"),
        ("vulkan", r"device 'vulkan' is not available on this machine"),
    ],
)
def test_an_unknown_device_is_refused_in_one_sentence(device, expected):
    with pytest.raises(ValueError, match=expected):
        choose_device(device)


def test_known_devices_are_kept():
    assert choose_device("cpu") == "cpu" and choose_device("meta") == "meta"
    assert choose_device(None) in ("cpu", "cuda")


def test_weights_of_another_architecture_under_the_right_name_are_refused(model_dir, tmp_path):
    """transformers fills tensors missing from the file with random values and only warns: we refuse."""
    folder = tmp_path / "mixed"
    shutil.copytree(model_dir, folder)
    other = build_tiny("blip").save(tmp_path / "blip")
    shutil.copy(other / "model.safetensors", folder / "model.safetensors")
    with pytest.raises(ValueError, match=r"the weights lack \d+ of the model's tensors .*would be left random"):
        load_captioner(folder)
