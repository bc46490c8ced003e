"""RSIC Studio: remote-sensing image captioning with vision-language models.

Sub-packages, bottom to top (each imports only the ones below it; ``lint-imports`` checks the
contract in pyproject.toml)::

    paths     where things live (RSIC_HOME, runs folder, the shipped demo model)
    hub       whether the Hugging Face hub answers (models and embedders fail at once offline); beside paths
    options   option values shared by configs and the command line (comma lists); beside paths
    text      caption text: word splitting, embeddings, preprocessing, synonyms, the guard, statistics
    data      datasets and their problems, images, the offline demo dataset generator
    models    the Family protocol, one file per model family, loading, tiny builders, captioning
    scoring   coco-caption metrics, Geo-Sim, error analysis, efficiency
    runs      the run folder layout, evaluation runs
    training  LoRA training, its config, collators, pruning, jobs, experiments, the demo model
    cli       the ``rsic`` command

Nothing in ``rsic_core`` imports streamlit or gradio; the app (``app.py``, ``views/``, ``ui/``) and
the Gradio demo (``demo.py``) sit on top.
"""
