"""What a model knows: the scene classes and kind of images it was trained on, from its folder's ``training.json``.

    card = model_card(captioner)       # or model_card("ucm"), model_card("/models/my-run/model")
    card.knows                         # "the 21 land-use classes of UC Merced (agricultural, ...) in ..."
    card.classes                       # ("agricultural", "airplane", ...): what the Map page colours by
    card.class_keywords                # {"airport": "airplane", ...}: objects its training references tie to one class
    card.note(["uploaded images"])     # one sentence for a page, or None when nothing needs saying

The shipped models write ``training.json`` beside their weights (``knows``, ``classes``; see
``rsic demo-model train`` and README, "The real-photo model"; the ucm model adds ``class_keywords``,
:attr:`rsic_core.scoring.confusion.SceneNames.keywords` of its training references). A model without one (a hub id, a user's
folder) has an empty card, and the pages say nothing about it rather than guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rsic_core.paths import DEMO_MODEL, shipped_model, shipped_name

CARD_FILE = "training.json"


@dataclass(frozen=True)
class ModelCard:
    """The model's own account of its training data (empty fields: not said)."""

    name: str
    knows: str = ""  # a phrase: "the 21 land-use classes of UC Merced ..."
    classes: tuple[str, ...] = ()  # scene classes of its training data
    synthetic: bool = False  # trained only on the synthetic demo scenes
    class_keywords: dict[str, str] = field(default_factory=dict)  # object word -> the one class it is tied to

    def note(self, unseen: list[str]) -> str | None:
        """What a page says above captions of ``unseen`` images (uploads, a real dataset); None when nothing.

        The demo model, trained only on synthetic scenes, warns that its captions of real photos mean little;
        a model that says what it knows says it, so the reader can judge a caption of a scene outside it.
        """
        if not self.knows:
            return None
        if self.synthetic and unseen:
            return (
                f"The {self.name} model knows only {self.knows}, so its captions of {' and '.join(unseen)} mean "
                "little: choose the ucm model (real aerial photos) or name a real captioning model for them."
            )
        return f"The {self.name} model knows {self.knows}; a scene outside them gets the caption of the closest one."


def model_card(model) -> ModelCard:
    """The card of a captioner, a model folder or a shipped model's name ("demo", "ucm")."""
    source = getattr(model, "name", model)
    folder = Path(shipped_model(source)).expanduser()
    name = shipped_name(folder) or folder.name or str(source)
    try:
        data = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no card (a hub id, a user's folder) or an unreadable one: say nothing
        return ModelCard(name)
    if not isinstance(data, dict):
        return ModelCard(name)
    classes = data.get("classes")
    classes = tuple(str(c) for c in classes) if isinstance(classes, list) else ()
    keywords = data.get("class_keywords")
    keywords = keywords if isinstance(keywords, dict) else {}
    return ModelCard(
        name,
        knows=str(data.get("knows") or ""),
        classes=classes,
        synthetic=folder == DEMO_MODEL,
        class_keywords={str(w): str(c) for w, c in keywords.items() if str(c) in classes},  # only its own classes
    )


def auto_model(images) -> str:
    """The shipped model for these images: "demo" when every one is a file of the offline demo dataset, else "ucm".

    The demo model knows only the synthetic demo scenes; the ucm model knows real aerial photos. A
    path inside ``$RSIC_HOME/demo`` (the generated demo dataset and scene) counts as the demo's;
    uploads, arrays and any other file are real photos.
    """
    from rsic_core.paths import rsic_home

    demo = (rsic_home() / "demo").resolve()
    images = list(images)
    if images and all(isinstance(i, (str, Path)) and Path(i).resolve().is_relative_to(demo) for i in images):
        return "demo"
    return "ucm"
