"""Run folders: the one place that knows their layout, and evaluation runs.

Lives here: ``layout`` (file names, run kinds and statuses, reading and writing a run folder),
``evaluation`` (``evaluate()`` and ``rescore()``: caption a split, score it, write a run).

May import: ``rsic_core.scoring``, ``rsic_core.models``, ``rsic_core.data``, ``rsic_core.text``,
``rsic_core.paths``.
"""
