"""Run folders: the one place that knows their layout, their lifecycle, reading them back, and evaluation runs.

Lives here:

- ``layout``: RunLayout (every file name of a run folder), RunKind and RunStatus; reading and writing runs
- ``folders``: a run folder opened, reopened, cleared on overwrite, or refused (imports no training)
- ``records``: PredictionRow, Run
- ``evaluation``: ``evaluate()`` and ``rescore()``: caption a split, score it, write a run
- ``prediction_files``: prediction files as people have them, read into one shape
- ``imports``: any prediction file scored against a split and kept as a run of kind "imported"
- ``sides``: the two sides of a comparison (run folders or files), checked to be on the same images
- ``tables``: the runs table and runs scored apart; ``compare``: the Compare page's filter and sort
- ``leaderboard``: every run of one split scored again with one evaluator, against a baseline
- ``plots``: plotly figures of the runs table (efficiency and scores)

May import: ``rsic_core.scoring``, ``rsic_core.models``, ``rsic_core.data``, ``rsic_core.text``,
``rsic_core.paths``.
"""
