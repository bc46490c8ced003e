"""Training runs (LoRA or full, cross-entropy or SCST) and what is built from them.

Lives here:

- ``config``: TrainConfig (the Trainer's ``TrainingArguments`` plus the project's fields)
- ``checks``: options that cannot train, weights that came out unusable, leakage
- ``run_folders``: a training run's folder (its config.json, its options compared; the general rules are
  :mod:`rsic_core.runs.folders`) and the splits a run needs
- ``trainer``: ``train()``: the transformers Trainer with peft or full training
- ``modes``: LoRA adapters or the whole model, and the model a run starts from
- ``losses`` (cross-entropy, label smoothing, caption window), ``scst`` (self-critical sequence training),
  ``scene_loss`` (an auxiliary scene-classification loss)
- ``collators``: (image, caption) pairs to model inputs with caption-only labels; ``augment``: dihedral views, crops
- ``lora``: target presets and a check of what each tower got; ``pruning``: keep the first N layers of a tower
- ``callbacks``: step log, status, validation, non-finite loss, cancel
- ``jobs``: runs as background processes (light: the Train page imports it on every rerun)
- ``experiments``: the LoRA ablation grid and pruning variants
- ``ship``: a finished run made into a model folder to hand out; ``demo_model``: the offline demo model's recipe

May import: everything of ``rsic_core`` below ``cli``.
"""
