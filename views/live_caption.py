"""Live caption: upload images (or pick some from the dataset) and caption them with a model."""

import zlib
from dataclasses import asdict
from pathlib import Path

import streamlit as st

from rsic_core.data.images import IMAGE_EXTENSIONS, load_image
from rsic_core.data.roots import model_under_roots
from rsic_core.models.cards import auto_model, model_card
from rsic_core.models.inference import DEFAULT_MAX_NEW_TOKENS, CaptionConfig, caption_images
from rsic_core.runs.compare import time_label
from ui import grounding_cache, models_cache, state

MAX_IMAGES = 12  # captioned per run; more are left for the user to pick next
CHUNK = 2  # images per generate() call between two renders
ALL_CLASSES = "All classes"


def _show(image, result, settings: str, bands: str, batch: int, key: str = "", config=None) -> None:
    name = result.name.rsplit("/", 1)[-1]
    if not result.ok:
        st.warning(f"Skipped {result.error}")
        return
    with st.container(border=True):
        left, right = st.columns([1, 3])
        shown = load_image(image, bands=bands or None)  # what the model saw
        shown.thumbnail((256, 256))
        left.image(shown, caption=name)
        right.markdown(f"### {result.caption or '(empty caption)'}")
        right.caption(f"{time_label(result.seconds, batch)} · {settings}")
        if result.note:  # a 16-bit or multi-band raster: how it was shown to the model
            right.caption(result.note)
        if config is not None and result.caption:  # where the model looked, word by word (computed when picked)
            source = image.getvalue() if hasattr(image, "getvalue") else str(image)
            big = load_image(image, bands=bands or None)
            grounding_cache.word_picker(
                right, key, source, big, result.caption, chosen, adapter.strip() or None, asdict(config)
            )


def _image_key(image) -> tuple:
    """What identifies an image's pixels: an upload by its file id, a file by its path, size and time."""
    if hasattr(image, "file_id"):
        return ("upload", image.file_id)
    stat = Path(image).stat()
    return ("file", str(image), stat.st_size, stat.st_mtime_ns)


def _captions(captioner, chunk: list, config) -> list:
    """Captions of ``chunk``, reused from this session when model, settings and image are the same.

    Picking a heatmap word reruns the page: only the picked word's map is computed then, never the captions
    again (with a 3B model on the CPU that is minutes). The session keeps the last 64 captions.
    """
    cache = st.session_state.setdefault("live_captions", {})
    setting = (captioner.name, captioner.adapter, repr(config))
    keys = [(setting, _image_key(image)) for image in chunk]
    missing = [image for image, key in zip(chunk, keys) if key not in cache]
    if missing:
        for image, result in zip(missing, caption_images(captioner, missing, config)):
            cache[(setting, _image_key(image))] = result
        for stale in list(cache)[:-64]:
            del cache[stale]
    return [cache[key] for key in keys]


st.title("Live caption")
st.caption(
    "Captions are made on this machine: by default with the shipped real-photo model (ucm) for uploads and real "
    "datasets, and the demo model for the demo dataset's own images, unless you name another."
)

with st.sidebar:
    st.markdown("**Model**")
    model = st.text_input(
        "Model",
        value="auto",
        help="'auto' (ucm for uploads and real datasets, demo for the demo dataset's images), 'ucm' (the shipped "
        "real-photo model: UC Merced's 21 land-use classes), 'demo' (the offline demo model: synthetic scenes), "
        "a model folder, or a Hugging Face id already in the local cache, e.g. google/paligemma2-3b-pt-224",
        key="live_model",
    )
    adapter = st.text_input("LoRA adapter folder (optional)", value="", key="live_adapter")
    beams = st.slider("Beams", 1, 5, 1, help="1 = greedy; 5 as in the RSIC studies", key="live_beams")
    max_tokens = st.slider("Max new tokens", 5, 60, DEFAULT_MAX_NEW_TOKENS, key="live_max_tokens")
    prompt = st.text_input(
        "Prompt (optional)",
        value="",
        help="Empty: the family's own ('caption en' for PaliGemma). "
        "The demo model also knows 'describe en' (detailed captions).",
        key="live_prompt",
    )

uploads = st.file_uploader(
    f"Images ({', '.join(e.lstrip('.') for e in IMAGE_EXTENSIONS)})",
    type=[e.lstrip(".") for e in IMAGE_EXTENSIONS],
    accept_multiple_files=True,
    key="live_uploads",
)
picked = []
try:
    dataset = state.current_dataset()
    split_col, class_col = st.columns(2)
    splits, labels = list(dataset.split_counts()), [ALL_CLASSES] + dataset.labels()  # see state.widget_key
    split = split_col.selectbox(
        "Split",
        splits,
        index=splits.index("test") if "test" in splits else 0,
        key=state.widget_key("live_split", splits),
    )
    label = class_col.selectbox("Class", labels, key=state.widget_key("live_class", labels))
    records = dataset.select(split=split, label=None if label == ALL_CLASSES else label)
    by_id = {r.image_id: r for r in records}
    picked = [
        by_id[i].path
        for i in st.multiselect(
            f"...or images from the loaded dataset ({len(by_id)} match; type to search)",
            list(by_id),
            key=state.widget_key("live_picked", split, label),  # another split or class starts an empty pick
        )
    ]
except (FileNotFoundError, ValueError) as e:
    st.info(f"No dataset images to pick from: {e}")

images = list(uploads or []) + picked
if not images:
    st.info("Upload images or pick some from the dataset to caption them.")
    st.stop()
if len(images) > MAX_IMAGES:
    st.info(f"Captioning the first {MAX_IMAGES} of the {len(images)} images chosen; remove some to caption the others.")
    images = images[:MAX_IMAGES]

chosen = model.strip() or "auto"
if chosen == "auto":  # uploads are real photos; only the demo dataset's own images go to the demo model
    chosen = "ucm" if uploads else auto_model(picked)
try:  # only folders under the roots are opened: the box must not tell whether a path exists on the server
    captioner = models_cache.captioner(
        model_under_roots(chosen), model_under_roots(adapter) if adapter.strip() else None
    )
except (FileNotFoundError, ValueError, OSError) as e:
    st.error(str(e))
    st.stop()

bands = st.session_state.get("live_bands", "").strip()  # the band box below, as last set
try:
    config = CaptionConfig(
        gen_num_beams=beams, gen_max_new_tokens=max_tokens, gen_prompt=prompt.strip() or None, image_bands=bands
    )
except ValueError as e:  # bands that are not band numbers
    st.error(str(e))
    config = None
unseen = (["uploaded images"] if uploads else []) + (
    [f"{dataset.name}'s images"] if picked and not state.is_demo() else []
)
note = None if captioner.adapter else model_card(captioner).note(unseen)
if note:  # what the shipped model knows (and, for the demo model, that real photos are beyond it)
    st.info(note)
st.caption(
    f"{captioner.family.title} · `{captioner.name}`"
    + (f" + adapter `{captioner.adapter}`" if captioner.adapter else "")
)
rasters = False
bar = st.progress(0.0, text=f"Captioning {len(images)} images...")
for start in range(0, len(images) if config else 0, CHUNK):  # small batches: each caption shows when made
    chunk = images[start : start + CHUNK]
    for n, (image, result) in enumerate(zip(chunk, _captions(captioner, chunk, config)), start):
        settings = f"beams {beams} · max {max_tokens} tokens"
        _show(
            image,
            result,
            settings,
            bands,
            min(len(chunk), config.batch_size),
            f"live_look_{n}_{zlib.crc32(result.caption.encode())}",
            config,
        )
        rasters = rasters or bool(result.note)
    bar.progress(
        min(start + CHUNK, len(images)) / len(images),
        text=f"Captioned {min(start + CHUNK, len(images))} of {len(images)}",
    )
bar.empty()
if rasters or bands:  # a 16-bit or multi-band image: let the user pick what the model sees
    st.text_input(
        "Bands to caption (1-based, e.g. 4,3,2; empty: RGB from metadata or the first three)", key="live_bands"
    )
