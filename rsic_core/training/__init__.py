"""LoRA fine-tuning and what is built from training runs.

Lives here: ``config`` (TrainConfig), ``run_folders`` (a run's folder made, reopened or refused),
``trainer`` (``train()``: peft + the transformers Trainer), ``collators``, ``lora``, ``pruning``,
``callbacks``, ``jobs`` (runs as background processes; light, the Train page imports it on every
rerun), ``experiments`` (ablation grid, pruning variants), ``demo_model`` (the recipe of the
offline demo model).

May import: everything of ``rsic_core`` below ``cli``.
"""
