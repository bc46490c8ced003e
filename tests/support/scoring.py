"""Scoring data and helpers for the metrics, runs, error-analysis and page tests.

A small corpus of remote-sensing captions in the RSICD style (duplicate references, images with
fewer than five references, an empty prediction, non-ASCII text) and the scores of it, computed
once per test session because METEOR's JVM takes about 10-15 s to start.
"""

from __future__ import annotations

from pathlib import Path

REFERENCES = {
    "airport_1.jpg": [
        "many planes are parked next to a long runway",
        "several airplanes are parked near the terminal",
        "an airport with a runway and some planes",
        "many planes are parked next to a long runway",
        "some planes are near the terminal building",
    ],
    "harbor_2.jpg": [
        "many boats are docked in the harbor",
        "lots of white boats are moored at the piers",
        "a harbor with many boats",
        "boats are parked in lines in the harbor",
        "many boats are in the port near some buildings",
    ],
    "farmland_3.jpg": [
        "green farmlands are divided into rectangles",
        "several pieces of farmland with different colors",
        "the farmland is green and brown",
    ],
    "river_4.jpg": [
        "a river goes through the forest",
        "a curved river with green trees on both sides",
        "a river passes by many green trees",
        "a river goes through the forest",
        "a river goes through the forest",
    ],
    "baseball field_5.jpg": [
        "two baseball fields are surrounded by green trees",
        "there are two baseball diamonds near a road",
        "two baseball fields next to some buildings",
        "two baseball fields are surrounded by green trees",
        "two baseball fields beside a parking lot",
    ],
    "residential_6.jpg": [
        "many houses are arranged neatly along the roads",
        "a dense residential area with many buildings",
        "lots of houses with red roofs",
        "many buildings and green trees are in a residential area",
        "many houses are arranged neatly along the roads",
    ],
    "beach_7.jpg": [
        "yellow beach is near a piece of green ocean",
        "white waves on the beach",
        "the sea is next to the sand beach",
        "a beach with waves",
        "yellow beach is near a piece of green ocean",
    ],
    "stadium_8.jpg": [
        "a stadium with a green football field is surrounded by buildings",
        "an oval stadium next to some roads",
        "the playground is in the stadium",
        "a stadium with a green football field",
        "a stadium with a red track around the field",
    ],
    "parking_9.jpg": [
        "many cars are parked in the parking lot",
        "lots of cars are parked in rows",
    ],
    "café_10.jpg": [
        "un café près d'une route avec des arbres",
        "a café near a road with trees",
        "a small café beside the road",
        "a café near a road with trees",
        "trees around a café",
    ],
}

PREDICTIONS = {
    "airport_1.jpg": "many planes are parked near a runway",
    "harbor_2.jpg": "many boats are docked in the harbor",
    "farmland_3.jpg": "some green trees are in a farmland",
    "river_4.jpg": "a river goes through the green forest",
    "baseball field_5.jpg": "three baseball fields are surrounded by trees",
    "residential_6.jpg": "many buildings and some cars are in a residential area",
    "beach_7.jpg": "",
    "stadium_8.jpg": "a stadium with a green field is near some boats",
    "parking_9.jpg": "many cars are parked in a parking lot .",
    "café_10.jpg": "a café near the road",
}

LABELS = {i: i.split("_")[0] for i in REFERENCES}


def write_run(root, name: str, scores, adapter: str | None = None, efficiency: dict | None = None):
    """A run folder as ``evaluate`` writes it, from the corpus above and its scores (with images)."""
    from pathlib import Path

    from PIL import Image

    from rsic_core.runs import layout as runs
    from rsic_core.runs.layout import RunKind, RunLayout

    folder = runs.new_run_dir(name, root)
    images = Path(root) / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, (image_id, refs) in enumerate(REFERENCES.items()):
        path = images / image_id
        if not path.exists():
            Image.new("RGB", (32, 32), (40 * k % 255, 120, 90)).save(path, format="JPEG")
        rows.append(
            runs.PredictionRow(
                image_id=image_id,
                prediction=PREDICTIONS[image_id],
                references=refs,
                split="test",
                label=LABELS[image_id],
                path=str(path),
                seconds=0.01,
            )
        )
    RunLayout(folder).write_config(
        {
            "name": name,
            "kind": RunKind.EVALUATION,
            "model": "tiny-paligemma",
            "adapter": adapter,
            "data": str(root),
            "dataset_name": "fixture",
            "split": "test",
        },
    )
    runs.write_scores(folder, rows, scores)
    if efficiency is not None:
        runs.write_json(folder, RunLayout.EFFICIENCY, efficiency)
    return folder


# Predictions of UC Merced-like classes: a long caption (many heatmap pills), and one naming part of three classes
# ("a residential area": the confusion column "denseresidential / mediumresidential / sparseresidential").
LABELLED = {
    "airplane_1": (
        "airplane",
        "many white airplanes are parked beside the long grey runway near the large terminal "
        "building with green trees several cars small trucks and straight roads",
    ),
    "denseresidential_2": ("denseresidential", "a residential area with many houses and trees"),
    "mediumresidential_3": ("mediumresidential", "many houses with gardens are arranged along the roads"),
    "sparseresidential_4": ("sparseresidential", "a few houses with green lawns beside a road"),
    "mobilehomepark_5": ("mobilehomepark", "many mobile homes are arranged neatly in a mobile home park"),
}


def write_labelled_run(root) -> Path:
    """A run of :data:`LABELLED` in ``root``/runs (BLEU only: no JVM to start), images in ``root``; ``root``/runs."""
    from rsic_core.runs import layout as runs
    from rsic_core.runs.layout import RunKind, RunLayout
    from rsic_core.scoring.metrics import ScoreConfig, score
    from tests.support.datasets import jpg

    references = {
        i: [f"there are many {label} things here", f"an area of {label}"] for i, (label, _) in LABELLED.items()
    }
    scores = score({i: p for i, (_, p) in LABELLED.items()}, references, ScoreConfig(score_metrics=("bleu",)))
    rows = [
        runs.PredictionRow(
            image_id=i,
            prediction=p,
            references=references[i],
            split="test",
            label=label,
            path=str(jpg(Path(root) / "images" / f"{i}.jpg")),
            seconds=0.01,
        )
        for i, (label, p) in LABELLED.items()
    ]
    folder = runs.new_run_dir("ucm-like", Path(root) / "runs")
    RunLayout(folder).write_config(
        {"name": "ucm-like", "kind": RunKind.EVALUATION, "model": "demo", "split": "test", "dataset_name": "ucm-like"}
    )
    runs.write_scores(folder, rows, scores)
    return Path(root) / "runs"
