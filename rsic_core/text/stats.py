"""Caption statistics as data frames, and plotly figure builders for them (no Streamlit here).

Counts per split and source, caption lengths before and after the length filter, the top words
before and after synonym mapping, vocabulary size and its reduction, duplicate references.

Example::

    result = preprocess(captions_of(dataset))
    vocabulary_table(result_stages(captions_of(dataset), result))
    length_histogram(length_frame({"before": captions, "after": result.captions}), 5, 20)
"""

from __future__ import annotations

from collections import Counter

from rsic_core.text import words
from rsic_core.text.words import repeated_references

STAGE_COLORS = {"before": "#8c8c8c", "after": "#1f77b4"}


def captions_of(dataset) -> list[str]:
    """All reference captions of a dataset, image by image (the pipeline's input order)."""
    return [c for r in dataset.records for c in r.captions]


def counts_by_split_source(dataset):
    """Images and captions per split and source (source: the dataset name where not given)."""
    import pandas as pd

    rows = Counter()
    images = Counter()
    for r in dataset.records:
        key = (r.split, r.source or dataset.name)
        images[key] += 1
        rows[key] += len(r.captions)
    order = {"train": 0, "val": 1, "test": 2}
    keys = sorted(images, key=lambda k: (order.get(k[0], 3), k[0], k[1]))
    return pd.DataFrame(
        [(split, source, images[(split, source)], rows[(split, source)]) for split, source in keys],
        columns=["split", "source", "images", "captions"],
    )


def counts_figure(counts):
    """Bar chart of captions per split, one colour per source."""
    import plotly.express as px

    fig = px.bar(counts, x="split", y="captions", color="source", barmode="group", text="captions")
    fig.update_layout(title="Captions per split and source", height=320, margin=dict(t=40, b=10))
    return fig


def word_count(caption: str) -> int:
    """Words of a caption as the length filter counts them (punctuation excluded)."""
    return words.count_words(caption)


def length_frame(stages: dict[str, list[str]]):
    """One row per caption: ``stage`` and its length in ``words``."""
    import pandas as pd

    return pd.DataFrame(
        [(stage, word_count(c)) for stage, captions in stages.items() for c in captions], columns=["stage", "words"]
    )


def length_histogram(lengths, min_words: int | None = None, max_words: int | None = None):
    """Overlaid length histograms per stage, with the filter bounds drawn as lines."""
    import plotly.express as px

    fig = px.histogram(
        lengths, x="words", color="stage", barmode="overlay", opacity=0.65, color_discrete_map=STAGE_COLORS
    )
    for bound in (min_words, max_words):
        if bound is not None:
            fig.add_vline(x=bound, line_dash="dash", line_color="#d62728")
    fig.update_layout(title="Caption length (words)", height=340, margin=dict(t=40, b=10), bargap=0.05)
    return fig


def top_tokens(captions: list[str], n: int = 20, skip_function_words: bool = True):
    """The ``n`` most frequent words with their count and share of all words.

    Args:
        captions: the captions whose letter words are counted.
        n (20): rows wanted.
        skip_function_words (True): list content words only (no function words, no lone letters).
    """
    import pandas as pd

    counts = words.word_counts(captions)
    total = sum(counts.values()) or 1
    top = [(w, k) for w, k in counts.most_common() if not skip_function_words or words.is_content_word(w)][:n]
    return pd.DataFrame([(w, k, k / total) for w, k in top], columns=["token", "count", "share"])


def top_tokens_figure(tables: dict[str, object]):
    """Side-by-side horizontal bars of the top words of each stage (e.g. before/after synonyms)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(tables), subplot_titles=list(tables), horizontal_spacing=0.15)
    for col, (stage, table) in enumerate(tables.items(), 1):
        fig.add_trace(
            go.Bar(
                x=table["count"][::-1],
                y=table["token"][::-1],
                orientation="h",
                name=stage,
                marker_color=STAGE_COLORS.get(stage.split()[0], None),
            ),
            row=1,
            col=col,
        )
    fig.update_layout(
        title="Top words",
        height=120 + 22 * max((len(t) for t in tables.values()), default=0),
        showlegend=False,
        margin=dict(t=60, b=10),
    )
    return fig


def vocabulary_size(captions: list[str]) -> int:
    """Distinct letter words (function words included), as :func:`rsic_core.text.words.word_counts` counts them."""
    return len(words.word_counts(captions))


def vocabulary_table(stages: dict[str, list[str]]):
    """Vocabulary size after each stage and its reduction from the first stage."""
    import pandas as pd

    sizes = [(stage, vocabulary_size(c), len(c)) for stage, c in stages.items()]
    first = sizes[0][1] if sizes else 0
    return pd.DataFrame(
        [(s, v, n, 0.0 if not first else round(100 * (first - v) / first, 1)) for s, v, n in sizes],
        columns=["stage", "vocabulary", "captions", "reduction_%"],
    )


def result_stages(captions: list[str], result) -> dict[str, list[str]]:
    """The captions at each stage of a :class:`~rsic_core.text.preprocess.PreprocessResult`."""
    stages = {"input": captions}
    stages["after length filter"] = [captions[i] for i in result.kept_index.tolist()]
    if result.synonyms is not None:
        from rsic_core.text.synonyms import rewrite

        stages["after synonyms"] = rewrite(result.before_synonyms, result.synonyms.applied_map())
    stages["final"] = result.captions
    return stages


def duplicate_references(dataset):
    """Images whose references repeat: image, split, references, distinct and duplicate counts."""
    import pandas as pd

    rows = []
    for r in dataset.records:
        repeated = repeated_references(r.captions)  # the same count as Home's validation summary
        if repeated:
            rows.append((r.image_id, r.split, len(r.captions), len(r.captions) - repeated, repeated))
    return pd.DataFrame(rows, columns=["image_id", "split", "references", "distinct", "duplicates"])


def cluster_projection_figure(words: list[str], counts: list[int], labels, xy, highlight: str | None = None):
    """The vocabulary in 2-D, coloured by synonym cluster (noise in grey), sized by frequency."""
    import numpy as np
    import pandas as pd
    import plotly.express as px

    frame = pd.DataFrame(
        {
            "word": words,
            "count": counts,
            "x": xy[:, 0],
            "y": xy[:, 1],
            "cluster": ["noise" if label < 0 else f"cluster {label}" for label in labels],
        }
    )
    frame["size"] = np.log1p(frame["count"]) + 1
    colors = {"noise": "#c7c7c7"}
    fig = px.scatter(
        frame,
        x="x",
        y="y",
        color="cluster",
        size="size",
        hover_name="word",
        hover_data={"count": True, "size": False, "x": False, "y": False},
        color_discrete_map=colors,
        size_max=12,
    )
    if highlight and highlight in words:
        i = words.index(highlight)
        fig.add_annotation(x=float(xy[i, 0]), y=float(xy[i, 1]), text=highlight, showarrow=True, arrowhead=2)
    fig.update_layout(title="Vocabulary (UMAP of the word embeddings)", height=520, margin=dict(t=40, b=10))
    return fig


def steps_table(result):
    """One row per preprocessing step: on/off, captions in and out, changed, time, details."""
    import json

    import pandas as pd

    return pd.DataFrame(
        [
            (
                s.name,
                s.enabled,
                s.captions_in,
                s.captions_out,
                s.changed,
                round(s.seconds, 2),
                json.dumps(s.details) if s.details else "",
            )
            for s in result.steps
        ],
        columns=["step", "enabled", "captions_in", "captions_out", "changed", "seconds", "details"],
    )


def sentencepiece_examples(result, n: int = 5):
    """The first ``n`` kept captions beside their SentencePiece pieces (empty when the step was off)."""
    import pandas as pd

    sp = result.sentencepiece
    if sp is None:
        return pd.DataFrame(columns=["caption", "pieces"])
    count = min(n, len(result.before_synonyms))
    return pd.DataFrame(
        {"caption": result.before_synonyms[:count], "pieces": [" ".join(sp.pieces(i)) for i in range(count)]}
    )
