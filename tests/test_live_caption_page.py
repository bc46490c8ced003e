"""Live caption page: captions appear beside each image with their time; bad uploads get a message."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = "views/live_caption.py"


def keyed(widgets, name: str):
    """The widget keyed ``name`` (or ``name:<digest>``, see ``ui.state.widget_key``) among ``widgets``."""
    return next(w for w in widgets if w.key == name or str(w.key).startswith(f"{name}:"))


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
    picker = keyed(at.multiselect, "live_picked")
    chosen = [o for o in picker.options if o.startswith(("harbor", "forest"))][:2]
    picker.set_value(chosen).run()
    assert not at.exception, [e.message for e in at.exception]
    captions = [m.value.lstrip("# ").strip() for m in at.markdown if m.value.startswith("### ")]
    assert len(captions) == 2
    for image_id, caption in zip(chosen, captions):  # beside each image, in the order picked
        assert image_id.split("_")[0] in caption, (chosen, captions)
    assert sum(" ms per image, batch average (batch size 2) · beams 1" in c.value for c in at.caption) == 2


def test_a_corrupt_upload_is_refused_with_a_message_and_the_rest_is_captioned(demo_dir):
    at = open_page()
    at.file_uploader(key="live_uploads").set_value(
        [("scene.png", png_bytes(), "image/png"), ("broken.jpg", b"\xff\xd8 not a jpeg", "image/jpeg")]
    ).run()
    assert not at.exception, [e.message for e in at.exception]
    warnings = " ".join(w.value for w in at.warning)
    assert "broken.jpg" in warnings and "not a readable image" in warnings
    assert len([m for m in at.markdown if m.value.startswith("### ")]) == 1


def test_beam_search_and_a_missing_model_are_handled(demo_dir):
    at = open_page()
    at.slider(key="live_beams").set_value(5)
    picker = keyed(at.multiselect, "live_picked")
    picker.set_value(picker.options[:1]).run()
    assert not at.exception and any(" ms · beams 5" in c.value for c in at.caption)
    at.text_input(key="live_model").set_value("nobody/no-such-model").run()
    assert not at.exception
    assert "nobody/no-such-model" in " ".join(e.value for e in at.error)


def test_every_class_can_be_picked_and_a_large_pick_is_capped(demo_dir):
    at = open_page()
    uploader = at.file_uploader(key="live_uploads")
    assert "bmp" in uploader.label and "webp" in uploader.label  # the label names what is accepted
    classes = keyed(at.selectbox, "live_class")
    assert {"harbor", "river"} <= set(classes.options)
    classes.set_value("river").run()
    picker = keyed(at.multiselect, "live_picked")
    assert picker.options and all(o.startswith("river") for o in picker.options)
    keyed(at.selectbox, "live_class").set_value("All classes")
    keyed(at.selectbox, "live_split").set_value("train").run()  # 96 images in the test dataset
    picker = keyed(at.multiselect, "live_picked")
    picker.set_value(picker.options[:14]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert "first 12 of the 14" in " ".join(i.value for i in at.info)
    assert len([m for m in at.markdown if m.value.startswith("### ")]) == 12


def four_band_tiff_bytes() -> bytes:
    """A 4-band 16-bit GeoTIFF (12-bit values), as an upload would bring it."""
    import numpy as np
    from rasterio.io import MemoryFile

    bands = np.random.default_rng(0).integers(200, 4000, size=(4, 64, 64), dtype=np.uint16)
    with MemoryFile() as memory:
        with memory.open(driver="GTiff", width=64, height=64, count=4, dtype="uint16") as dst:
            dst.write(bands)
        return memory.read()


def test_a_multi_band_upload_shows_its_note_and_offers_a_band_box(demo_dir):
    at = open_page()
    assert not [t for t in at.text_input if t.key == "live_bands"]  # nothing to choose yet
    at.file_uploader(key="live_uploads").set_value([("scene.tif", four_band_tiff_bytes(), "image/tiff")]).run()
    assert not at.exception, [e.message for e in at.exception]
    notes = " ".join(c.value for c in at.caption)
    assert "16-bit, 4 bands: showed bands 1,2,3 (the first three)" in notes
    at.text_input(key="live_bands").set_value("4,3,2").run()
    assert not at.exception and "showed bands 4,3,2 (chosen)" in " ".join(c.value for c in at.caption)
    assert len([m for m in at.markdown if m.value.startswith("### ")]) == 1
    at.text_input(key="live_bands").set_value("4,x").run()
    assert "bands must be 1-based band numbers" in " ".join(e.value for e in at.error)
    assert [t for t in at.text_input if t.key == "live_bands"]  # still there to correct


DEMO_ONLY = "The demo model knows only the 12 synthetic scene classes of the offline demo dataset"
UCM_KNOWS = "The ucm model knows the 21 land-use classes of UC Merced"


def _notes(at, text: str) -> list[str]:
    return [i.value for i in at.info if text in i.value]


def test_auto_gives_uploads_to_the_real_photo_model_and_each_model_says_what_it_knows(
    demo_dir, taught_model_dir, monkeypatch
):
    at = open_page()
    picker = keyed(at.multiselect, "live_picked")
    picker.set_value(picker.options[:1]).run()  # a demo image: the demo model, nothing to say
    assert not at.exception and not _notes(at, DEMO_ONLY) and not _notes(at, UCM_KNOWS)
    assert "assets/demo_model" in " ".join(c.value for c in at.caption)

    at.file_uploader(key="live_uploads").set_value([("scene.png", png_bytes(), "image/png")]).run()
    assert not at.exception and not _notes(at, DEMO_ONLY)
    [note] = _notes(at, UCM_KNOWS)  # an upload is a real photo: the shipped ucm model, which says what it knows
    assert "agricultural" in note and "tennis court" in note
    assert "assets/ucm_model" in " ".join(c.value for c in at.caption)

    at.text_input(key="live_model").set_value("demo").run()  # the demo model named: real photos are beyond it
    [note] = _notes(at, DEMO_ONLY)
    assert "so its captions of uploaded images mean little: choose the ucm model" in note

    monkeypatch.setenv("RSIC_DATA_ROOTS", str(taught_model_dir.parent))  # the box opens folders under the roots only
    at.text_input(key="live_model").set_value(str(taught_model_dir)).run()  # a model with no card: nothing said
    assert not at.exception and not _notes(at, DEMO_ONLY) and not _notes(at, UCM_KNOWS)
    assert len([m for m in at.markdown if m.value.startswith("### ")]) == 2


def test_a_real_dataset_is_captioned_by_the_real_photo_model_unless_the_demo_model_is_named(shared_data):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.session_state["dataset_path"] = str(shared_data / "ucm-sample")
    at.run()
    at.switch_page(PAGE).run()
    picker = keyed(at.multiselect, "live_picked")
    picker.set_value(picker.options[:1]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert _notes(at, UCM_KNOWS) and not _notes(at, DEMO_ONLY)
    at.text_input(key="live_model").set_value("demo").run()
    [note] = _notes(at, DEMO_ONLY)
    assert "its captions of ucm-sample's images mean little" in note


def test_a_word_of_a_caption_shows_where_the_model_looked(demo_dir, monkeypatch):
    from rsic_core.models import inference

    captioned = []  # images each caption_images call was given (the page imports it anew on every run)
    real = inference.caption_images
    monkeypatch.setattr(
        inference,
        "caption_images",
        lambda c, images, *a, **k: captioned.append(len(images)) or real(c, images, *a, **k),
    )
    at = open_page()
    picker = keyed(at.multiselect, "live_picked")
    picker.set_value([o for o in picker.options if o.startswith("harbor")][:1]).run()
    assert not at.exception, [e.message for e in at.exception]
    (pills,) = [b for b in at.button_group if str(b.key).startswith("live_look_0_")]
    caption = next(m.value.lstrip("# ").strip() for m in at.markdown if m.value.startswith("### "))
    words = caption.split()
    assert "harbor" in words and len(at.get("image")) == 1  # nothing computed before a word is picked
    assert captioned == [1]
    pills.set_value(words.index("harbor")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.get("image")) == 2  # the thumbnail and the overlay of "harbor"
    assert captioned == [1]  # the click computed the heatmap only: the caption came from the session
