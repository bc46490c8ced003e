"""Live caption: upload images (or pick some from the dataset) and caption them with a model."""

import streamlit as st

from rsic_core.images import IMAGE_EXTENSIONS, load_image
from rsic_core.inference import CaptionConfig, caption_images
from ui import models_cache, state

st.title("Live caption")
st.caption("Captions are made on this machine; the offline demo model is used unless you name another.")

with st.sidebar:
    st.markdown("**Model**")
    model = st.text_input("Model", value="demo", help="'demo' (the offline demo model), a model folder, "
                          "or a Hugging Face id already in the local cache, e.g. google/paligemma2-3b-pt-224")
    adapter = st.text_input("LoRA adapter folder (optional)", value="")
    beams = st.slider("Beams", 1, 5, 1, help="1 = greedy; 5 as in the RSIC studies")
    max_tokens = st.slider("Max new tokens", 5, 60, 30)
    prompt = st.text_input("Prompt (optional)", value="", help="Empty: the family's own ('caption en' for PaliGemma). "
                           "The demo model also knows 'describe en' (detailed captions).")

uploads = st.file_uploader("Images (jpg, png, tif)", type=[e.lstrip(".") for e in IMAGE_EXTENSIONS],
                           accept_multiple_files=True)
picked = []
try:
    dataset = state.current_dataset()
    test_records = (dataset.select(split="test") or dataset.records)[:60]
    by_id = {r.image_id: r for r in test_records}
    picked = [by_id[i].path for i in st.multiselect("...or images from the loaded dataset", list(by_id))]
except (FileNotFoundError, ValueError) as e:
    st.info(f"No dataset images to pick from: {e}")

images = list(uploads or []) + picked
if not images:
    st.info("Upload images or pick some from the dataset to caption them.")
    st.stop()

try:
    captioner = models_cache.captioner(model.strip(), adapter.strip() or None)
except (FileNotFoundError, ValueError, OSError) as e:
    st.error(str(e))
    st.stop()

config = CaptionConfig(gen_num_beams=beams, gen_max_new_tokens=max_tokens, gen_prompt=prompt.strip() or None)
bar = st.progress(0.0, text="Captioning...")
results = caption_images(captioner, images, config, progress=lambda done, total: bar.progress(done / total))
bar.empty()
st.caption(f"{captioner.family.title} · `{captioner.name}`" + (f" + adapter `{captioner.adapter}`" if captioner.adapter else ""))

for image, result in zip(images, results):
    name = result.name.rsplit("/", 1)[-1]
    if not result.ok:
        st.warning(f"Skipped {result.error}")
        continue
    with st.container(border=True):
        left, right = st.columns([1, 3])
        shown = load_image(image)
        shown.thumbnail((256, 256))
        left.image(shown, caption=name)
        right.markdown(f"### {result.caption or '(empty caption)'}")
        right.caption(f"{result.seconds * 1000:.0f} ms · beams {beams} · max {max_tokens} tokens")
