"""Helpers for the captioning tests: tiny models of each family that learned three captions."""

from __future__ import annotations

from PIL import Image

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 60), "blue": (30, 60, 220)}
CAPTIONS = {
    "red": "a red roof of a large building",
    "green": "a green forest with many trees",
    "blue": "a blue lake beside the river",
}


def colour_images() -> list[Image.Image]:
    return [Image.new("RGB", (48, 40), rgb) for rgb in COLOURS.values()]


def teach(captioner, steps: int = 60, lr: float = 5e-3):
    """Fit ``captioner`` to caption each colour image with its caption (a few seconds on CPU)."""
    import torch

    images, captions = colour_images(), list(CAPTIONS.values())
    batch = captioner.family.encode(captioner.processor, images, captions)
    model = captioner.model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    model.eval()
    return losses
