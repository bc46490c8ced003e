"""Scores of predictions: coco-caption metrics, Geo-Sim, error analysis, significance, efficiency, the x100 scale.

Lives here:

- ``coco``: pycocoevalcap runners (PTBTokenizer, BLEU, METEOR, ROUGE-L, CIDEr-D, SPICE) and the Java check
- ``metrics``: ``score()``: coco-caption metrics exactly as pycocoevalcap computes them, plus Geo-Sim
- ``corpus_stats``: corpus BLEU and CIDEr-D recomputed from cached per-image statistics, for any resample
- ``bootstrap``: is A better than B? a paired bootstrap of every metric's difference (``rsic compare``)
- ``protocols``: the other common ways papers score captions (``rsic score --protocols``)
- ``error_analysis``: per-image error kinds, matching and missing words, breakdowns
- ``confusion``: the scene class a prediction names, and the per-class confusion (with its figure)
- ``objects``: object words of captions from WordNet, their forms, how two relate
- ``pointing``: the pointing game (does a word's heatmap peak on the object it names?)
- ``efficiency``: parameters, GFLOPs, latency, peak memory, size on disk of a loaded model
- ``costs``: the study's cost table (parameters and MACs of real-shape models), with ``fake_pass`` (one forward
  pass on fake tensors under torch's FLOP counter)
- ``scale``: scores x100 as papers print them: the one place

May import: ``rsic_core.models``, ``rsic_core.data``, ``rsic_core.text``, ``rsic_core.paths``.
"""
