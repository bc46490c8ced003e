"""Gradio demo: upload an aerial image, get its caption.

    .venv/bin/python demo.py [--model demo] [--adapter DIR] [--share] [--host 127.0.0.1] [--port 7860]

Serves on 127.0.0.1 unless ``--host`` says otherwise. ``--share`` asks Gradio for a public link;
where none can be made (offline), it says so and keeps serving locally.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
from pathlib import Path

import gradio as gr

from rsic_core.data.images import IMAGE_EXTENSIONS, load_image, read_image
from rsic_core.models.cards import model_card
from rsic_core.models.inference import DEFAULT_MAX_NEW_TOKENS, CaptionConfig, caption_images
from rsic_core.models.registry import load_captioner
from rsic_core.paths import rsic_home

NO_LINK = "No public share link could be created (Gradio's share server is unreachable, e.g. offline)."


def from_demo_dataset(image_path: str) -> bool:
    """Whether a file is one of the offline demo dataset's images (same name, same bytes)."""
    demo_copy = rsic_home() / "demo" / "images" / Path(image_path).name
    return demo_copy.is_file() and filecmp.cmp(image_path, demo_copy, shallow=False)


def build_demo(model: str = "ucm", adapter: str | None = None, device: str | None = None) -> gr.Blocks:
    """The Gradio app around one loaded captioning model."""
    captioner = load_captioner(model, adapter=adapter, device=device)

    def predict(image_path: str | None, beams: int = 1, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS):
        if not image_path:
            raise gr.Error("Upload an image first.", print_exception=False)
        try:
            loaded = read_image(image_path, name=Path(image_path).name)
        except ValueError as e:
            raise gr.Error(str(e), print_exception=False) from None  # a message for the user, not a crash
        config = CaptionConfig(gen_num_beams=int(beams), gen_max_new_tokens=int(max_new_tokens))
        result = caption_images(captioner, [loaded.image], config, names=[Path(image_path).name])[0]
        if not result.ok:
            raise gr.Error(result.error, print_exception=False)
        image = loaded.image
        image.thumbnail((448, 448))
        notes = [n for n in (loaded.note, result.note) if n]  # how a 16-bit or multi-band raster was shown
        return image, result.caption, " · ".join([f"{result.seconds * 1000:.0f} ms on {captioner.device}", *notes])

    card = model_card(captioner)
    unseen_note = card.note(["real aerial images"]) if card.synthetic and not adapter else None  # the demo model
    knows_note = None if card.synthetic or adapter else card.note([])  # what a shipped real-photo model knows

    def show(image_path: str | None):
        """On upload: the preview, and a word when the demo model gets an image it never saw (a bad
        file is explained once, when Caption is pressed)."""
        try:
            image = load_image(image_path, name=Path(image_path).name) if image_path else None
        except ValueError:
            image = None
        if image is not None:
            image.thumbnail((448, 448))
        unknown = bool(unseen_note and image_path and not from_demo_dataset(image_path))
        return image, "", "", gr.Markdown(unseen_note or "", visible=unknown)

    with gr.Blocks(title="RSIC Studio caption demo") as demo:
        gr.Markdown(
            f"## Remote-sensing image captioning\nModel: `{captioner.name}` ({captioner.family.title})"
            + (f" + adapter `{adapter}`" if adapter else "")
            + (f"\n\n{knows_note}" if knows_note else "")
        )
        demo.rsic_status = "Starting..."  # set by launch(); shown on each page load
        gr.Markdown(lambda: demo.rsic_status)
        with gr.Row():
            with gr.Column():
                kinds = ", ".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)  # the label names every type accepted
                image = gr.File(label=f"Aerial image ({kinds})", file_types=list(IMAGE_EXTENSIONS), type="filepath")
                preview = gr.Image(label="Image", interactive=False, type="pil")
                notice = gr.Markdown(unseen_note or "", visible=False)
            with gr.Column():
                caption = gr.Textbox(label="Caption")
                timing = gr.Textbox(label="Time and notes")
                beams = gr.Slider(1, 5, value=1, step=1, label="Beams")
                max_new_tokens = gr.Slider(5, 60, value=DEFAULT_MAX_NEW_TOKENS, step=1, label="Max new tokens")
                button = gr.Button("Caption", variant="primary")
        outputs = [preview, caption, timing]
        button.click(predict, [image, beams, max_new_tokens], outputs, api_name="caption")
        image.upload(show, [image], [*outputs, notice], api_name=False)  # captioning is the button's job: one error
    return demo


def exposure_warning(host: str, share: bool) -> str | None:
    """A warning when the demo is reachable beyond this machine (a non-loopback host or a share link), else None."""
    import ipaddress

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost
        loopback = False
    if loopback and not share:
        return None
    where = ("a public share link" if share else "") + (" and " if share and not loopback else "")
    where += "" if loopback else f"{host}"
    return (
        f"warning: serving on {where}: anyone who can reach it can use the demo and its model, with no login; "
        "put it behind a reverse proxy with authentication, or pass auth= to Gradio's launch()"
    )


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = None, share: bool = False) -> str:
    """Start serving without blocking; returns a sentence saying where the demo is reachable."""
    demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=True, quiet=True)
    local = demo.local_url
    if share and not demo.share_url:
        message = f"{NO_LINK} The demo keeps serving locally at {local}"
    elif share:
        message = f"Public link: {demo.share_url} (local: {local})"
    else:
        message = f"Serving locally at {local}"
    demo.rsic_status = message
    return message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Gradio caption demo")
    parser.add_argument(
        "--model",
        default="ucm",
        help="model folder or cached Hugging Face id; ucm (default) = the shipped real-photo model, demo = the "
        "offline demo model (synthetic scenes only)",
    )
    parser.add_argument("--adapter", help="LoRA adapter folder")
    parser.add_argument("--device", help="cpu, cuda... (default: CUDA when available)")
    parser.add_argument("--share", action="store_true", help="ask Gradio for a public link")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, help="port (default: first free from 7860)")
    args = parser.parse_args(argv)
    if args.port is not None and not 1 <= args.port <= 65535:  # before the model loads; Gradio would raise later
        print(f"demo: error: --port {args.port} is not a port number (1 to 65535)", file=sys.stderr)
        return 2
    try:
        demo = build_demo(args.model, args.adapter, args.device)
    except (ValueError, OSError) as e:  # a missing or broken model folder, an unknown device...
        print(f"demo: error: {e}", file=sys.stderr)
        return 2
    if warning := exposure_warning(args.host, False):  # a non-loopback host: said before anything listens
        print(warning, file=sys.stderr, flush=True)
    message = launch(demo, args.host, args.port, args.share)
    if demo.share_url and (warning := exposure_warning("127.0.0.1", True)):  # only once a public link exists
        print(warning, file=sys.stderr, flush=True)
    print(message, flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
