"""Live caption page: captions appear beside each image with their time; bad uploads get a message."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/live_caption.py"


def open_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.run()
    at.switch_page(PAGE)
    at.run()
    return at


def png_bytes(colour=(40, 90, 200), size=(96, 96)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_dataset_images_get_captions_naming_their_scene(demo_dir):
    at = open_page()
    assert not at.exception and "Upload images" in " ".join(i.value for i in at.info)
    picker = at.multiselect[0]
    chosen = [o for o in picker.options if o.startswith(("harbor", "forest"))][:2]
    picker.set_value(chosen).run()
    assert not at.exception, [e.message for e in at.exception]
    captions = [m.value.lstrip("# ").strip() for m in at.markdown if m.value.startswith("### ")]
    assert len(captions) == 2
    for image_id, caption in zip(chosen, captions):  # beside each image, in the order picked
        assert image_id.split("_")[0] in caption, (chosen, captions)
    assert sum(" ms · beams 1" in c.value for c in at.caption) == 2


def test_a_corrupt_upload_is_refused_with_a_message_and_the_rest_is_captioned(demo_dir):
    at = open_page()
    at.file_uploader[0].set_value(
        [("scene.png", png_bytes(), "image/png"), ("broken.jpg", b"\xff\xd8 not a jpeg", "image/jpeg")]
    ).run()
    assert not at.exception, [e.message for e in at.exception]
    warnings = " ".join(w.value for w in at.warning)
    assert "broken.jpg" in warnings and "not a readable image" in warnings
    assert len([m for m in at.markdown if m.value.startswith("### ")]) == 1


def test_beam_search_and_a_missing_model_are_handled(demo_dir):
    at = open_page()
    [s for s in at.slider if s.label == "Beams"][0].set_value(5)
    at.multiselect[0].set_value(at.multiselect[0].options[:1]).run()
    assert not at.exception and any(" ms · beams 5" in c.value for c in at.caption)
    [t for t in at.text_input if t.label == "Model"][0].set_value("nobody/no-such-model").run()
    assert not at.exception
    assert "nobody/no-such-model" in " ".join(e.value for e in at.error)


def test_every_class_can_be_picked_and_a_large_pick_is_capped(demo_dir):
    at = open_page()
    assert (
        "bmp" in at.file_uploader[0].label and "webp" in at.file_uploader[0].label
    )  # the label names what is accepted
    classes = [s for s in at.selectbox if s.label == "Class"][0]
    assert {"harbor", "river"} <= set(classes.options)
    classes.set_value("river").run()
    picker = at.multiselect[0]
    assert picker.options and all(o.startswith("river") for o in picker.options)
    [s for s in at.selectbox if s.label == "Class"][0].set_value("All classes")
    [s for s in at.selectbox if s.label == "Split"][0].set_value("train").run()  # 96 images in the test dataset
    at.multiselect[0].set_value(at.multiselect[0].options[:14]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert "first 12 of the 14" in " ".join(i.value for i in at.info)
    assert len([m for m in at.markdown if m.value.startswith("### ")]) == 12
