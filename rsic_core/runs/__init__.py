"""Run folders: the one place that knows their layout, reading them back, and evaluation runs.

Lives here: ``layout`` (RunLayout: every file name of a run folder; RunKind and RunStatus; reading and
writing runs), ``records`` (PredictionRow, Run), ``tables`` (the runs table, the image-set warning),
``compare`` (the Compare page's filter and sort pipeline), ``plots`` (efficiency and score figures),
``evaluation`` (``evaluate()`` and ``rescore()``: caption a split, score it, write a run).

May import: ``rsic_core.scoring``, ``rsic_core.models``, ``rsic_core.data``, ``rsic_core.text``,
``rsic_core.paths``.
"""
