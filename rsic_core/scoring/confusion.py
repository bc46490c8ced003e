"""What the model called each scene class: the class a prediction names, and the per-class confusion.

A prediction names a class when it says the class name in any form ("storage tanks" for
``storagetanks``, "airplanes" for ``airplane``: class names run together are split into the words
WordNet knows), else when it says part of one ("a residential area": dense, medium and sparse
residential alike), else when it names an object that the run's references tie to one class
("an airport": the references say airport for the ``airplane`` images and no other class). Of
several classes named in full, the first named counts (the longest on a tie: "mobile home park",
not "park")::

    names = SceneNames.of_keywords(card.classes, card.class_keywords)   # a model card's classes (the Map page)
    names.scene(words("there is a piece of farmland"))                   # "agricultural" (a tied object)

    table = analyze_run(run.predictions_frame())   # its "scene" column is the class each prediction names
    confusion = scene_confusion(table)              # rows: true class, columns: the class named, values: images
    confusion_figure(confusion)                     # the same as a heatmap
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache

from rsic_core.scoring.objects import Mention, ObjectLexicon, object_lexicon
from rsic_core.text.words import letter_words, words

NONE = "(none)"  # the column of predictions that name no class
KEYWORD_SHARE = 0.5  # an object ties to a class when the references of at least this share of its images name it
KEYWORD_MARGIN = 2.0  # ... and of this many times more of its images than of any other class's
LABEL_CHAR_PX, LABEL_LINE_PX = 7, 16  # room a tick label takes per character and per line (plotly's 12 px font)


def class_words(label: str, lexicon: ObjectLexicon | None = None) -> tuple[str, ...]:
    """A class name in words: "storagetanks" -> ("storage", "tanks"), "baseball field" -> ("baseball", "field").

    Each run of letters that WordNet does not know is split into the fewest known words of three
    letters or more; a run that cannot be split stays whole.
    """
    lexicon = lexicon or object_lexicon()
    out: list[str] = []
    for chunk in letter_words(label):
        out.extend(_split(lexicon.wn, chunk) if lexicon.wn is not None else [chunk])
    return tuple(out)


def _split(wn, chunk: str) -> list[str]:
    if _known(wn, chunk):
        return [chunk]
    best: dict[int, list[str]] = {0: []}  # fewest known words covering chunk[:i]
    for end in range(3, len(chunk) + 1):
        options = [best[s] + [chunk[s:end]] for s in range(end - 2) if s in best and _known(wn, chunk[s:end])]
        if options:
            best[end] = min(options, key=len)
    return best.get(len(chunk), [chunk])


@cache
def _known(wn, word: str) -> bool:
    return bool(wn.synsets(word))


class SceneNames:
    """Which class a prediction names, for the classes of one run and their references.

    Args:
        labels: the run's classes.
        references: (label, reference captions) for each image of the run (for the objects tied to a class).
        lexicon (the offline WordNet): object words.
        read (``lexicon.mentions`` of the caption's words): the objects a caption names (a cache of them).
    """

    def __init__(
        self,
        labels: Iterable[str],
        references: Iterable[tuple[str, Sequence[str]]] = (),
        lexicon: ObjectLexicon | None = None,
        read: Callable[[str], Sequence[Mention]] | None = None,
    ):
        self.lexicon = lexicon or object_lexicon()
        self._read = read or (lambda caption: self.lexicon.mentions(words(caption)))
        self.classes = sorted(set(labels))
        self.pieces = {c: tuple(self._form(w) for w in class_words(c, self.lexicon)) for c in self.classes}
        self.keywords = self._keywords(references)

    @classmethod
    def of_keywords(
        cls, labels: Iterable[str], keywords: Mapping[str, str], lexicon: ObjectLexicon | None = None
    ) -> SceneNames:
        """The namer of ``labels`` with the objects already tied to them (a model card's ``class_keywords``).

        Args:
            labels: the classes.
            keywords: object key (``storage_tank``) -> class, as :attr:`keywords` of the training references
                gives them; keywords of other classes are left out.
            lexicon (the offline WordNet): object words.
        """
        names = cls(labels, (), lexicon)
        names.keywords = {str(k): c for k, c in keywords.items() if c in names.pieces}
        return names

    def _form(self, word: str) -> str:
        return self.lexicon.key(word) or self.lexicon.base(word)

    def _keywords(self, references: Iterable[tuple[str, Sequence[str]]]) -> dict[str, str]:
        images: Counter = Counter()
        naming: dict[str, Counter] = defaultdict(Counter)  # object -> class -> images whose references name it
        for label, refs in references:
            if label not in self.pieces:
                continue
            images[label] += 1
            for key in {m.key for r in refs for m in self._read(r)}:
                naming[key][label] += 1
        tied = {}
        for key, per_class in naming.items():
            shares = sorted(((n / images[c], c) for c, n in per_class.items()), reverse=True)
            share, label = shares[0]
            runner_up = shares[1][0] if len(shares) > 1 else 0.0
            if share >= KEYWORD_SHARE and share >= KEYWORD_MARGIN * runner_up:
                tied[key] = label
        return tied

    def scene(self, tokens: Sequence[str], mentions: Sequence[Mention] | None = None) -> str:
        """The class the caption's words (:func:`rsic_core.text.words.words`) name, or :data:`NONE`.

        Several classes that the caption names equally (part of each) are joined with " / ".
        """
        if not self.classes:
            return NONE
        said: dict[str, int] = {}  # each form said -> where first
        for k, t in enumerate(tokens):
            if not (k + 1 < len(tokens) and tokens[k + 1] == "of"):  # "a lot of trees" says no parking lot
                said.setdefault(self._form(t), k)
        nouns = [(s, k) for s, k in said.items() if self.lexicon.key(s) is not None]
        full, partial = [], Counter()
        for label, pieces in self.pieces.items():
            at = [said.get(p, next((k for s, k in nouns if self._same(p, s)), None)) for p in pieces]
            found = [k for k in at if k is not None]
            if found and len(found) == len(pieces):
                full.append((min(found), -len(pieces), label))
            elif found:
                partial[label] = len(found)
        if full:
            return min(full)[2]  # the first said, then the longest ("mobile home park" over "park")
        if partial:
            most = max(partial.values())
            return " / ".join(c for c in self.classes if partial.get(c) == most)
        for m in mentions if mentions is not None else self.lexicon.mentions(list(tokens)):
            label = next((c for k, c in self.keywords.items() if self.lexicon.same(m.key, k)), None)
            if label:
                return label
        return NONE

    def _same(self, piece: str, said: str) -> bool:
        return piece == said or (
            self.lexicon.key(piece) is not None
            and self.lexicon.key(said) is not None
            and self.lexicon.same(piece, said)
        )


def scene_names(table) -> SceneNames:
    """The scene namer of a predictions table (its ``label`` and ``references`` columns)."""
    labelled = [(lab, list(refs) if refs is not None else []) for lab, refs in zip(table["label"], table["references"])]
    labelled = [(lab, refs) for lab, refs in labelled if isinstance(lab, str) and lab]
    return SceneNames([lab for lab, _ in labelled], labelled)


def scene_confusion(table):
    """Images per true class (rows, the ``label`` column) and the class the prediction names (columns).

    Args:
        table: a predictions table, analysed (:func:`rsic_core.scoring.error_analysis.analyze_run`,
            its ``scene`` column) or not (then the scenes are found here).

    Returns:
        A DataFrame of image counts: the classes in the same order on both axes (the diagonal holds
        the images whose prediction names their own class), then the other columns, then
        :data:`NONE`. Images without a class are left out; with none left, the frame is empty.
    """
    import pandas as pd

    if "scene" in table.columns:
        scenes = table["scene"]
    else:
        names = scene_names(table)
        scenes = pd.Series([names.scene(words(p or "")) for p in table["prediction"]], index=table.index)
    has_label = table["label"].map(lambda lab: isinstance(lab, str) and bool(lab))
    if not has_label.any():
        return pd.DataFrame(dtype=int)
    counts = pd.crosstab(table.loc[has_label, "label"], scenes[has_label])
    classes = sorted(counts.index)
    others = sorted(c for c in counts.columns if c not in classes and c != NONE)
    columns = classes + others + ([NONE] if NONE in counts.columns else [])
    counts = counts.reindex(index=classes, columns=columns, fill_value=0).astype(int)
    counts.index.name, counts.columns.name = "class", "prediction names"
    return counts


def confusion_figure(confusion):
    """A plotly heatmap of :func:`scene_confusion`: true class down, the class named across, counts in the cells.

    Raises:
        ValueError: the confusion table is empty (no image has a class).
    """
    import plotly.graph_objects as go

    if confusion.empty:
        raise ValueError("No image of this run has a class, so there is no per-class confusion to draw.")
    columns = [str(c) for c in confusion.columns]
    figure = go.Figure(
        go.Heatmap(
            z=confusion.values,
            x=columns,
            y=[str(i) for i in confusion.index],
            text=confusion.values,
            texttemplate="%{text}",
            colorscale="Blues",
            hovertemplate="class %{y}<br>prediction names %{x}<br>%{z} images<extra></extra>",
        )
    )
    # A column of several classes named in part ("denseresidential / mediumresidential / sparseresidential") gets
    # one class per line, and the figure grows by what its slanted labels need: automargin alone takes that room
    # from the plot, and at a fixed height of one or two rows the labels ran out of the figure.
    lines = [c.split(" / ") for c in columns]
    longest, deepest = max(len(part) for parts in lines for part in parts), max(len(parts) for parts in lines)
    labels_height = int(LABEL_CHAR_PX * longest * 0.71 + LABEL_LINE_PX * deepest)  # 0.71 = sin 45°: tickangle -45
    figure.update_xaxes(
        title="what the prediction names",
        tickangle=-45,
        side="bottom",
        automargin=True,
        tickvals=columns,
        ticktext=["<br>".join(parts) for parts in lines],
    )
    figure.update_yaxes(title="class", autorange="reversed", automargin=True)
    bottom = labels_height + 50  # and the axis title under them
    figure.update_layout(
        height=80 + 26 * len(confusion.index) + bottom, margin={"l": 60, "r": 20, "t": 30, "b": bottom}
    )
    return figure
