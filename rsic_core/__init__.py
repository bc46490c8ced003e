"""RSIC Studio: remote-sensing image captioning with vision-language models.

Sub-packages, bottom to top (each imports only the ones below it; ``lint-imports`` checks the
contract in pyproject.toml)::

    paths     where things live (RSIC_HOME, runs folder, the shipped demo and real-photo models)
    offline   whether the Hugging Face hub answers (models and embedders fail at once offline); beside paths
    hub       deprecated alias of offline; beside paths
    options   option values shared by configs and the command line (comma lists, numbers); beside paths
    text      caption text: word splitting, embeddings, preprocessing, synonyms, the guard, statistics
    data      datasets and their problems, formats, images and rasters, audits, the offline demo dataset generator
    models    the Family protocol, one file per model family, loading, tiny builders, captioning, heatmaps
    scoring   coco-caption metrics, Geo-Sim, error analysis, the bootstrap, other protocols, efficiency and costs
    runs      run folders (layout, lifecycle, reading back), evaluation runs, imports, comparisons, leaderboard
    scenes    whole GeoTIFF scenes captioned tile by tile into GeoJSON, and searched by text; beside runs
    training  training runs (LoRA or full, cross-entropy or SCST), their config, jobs, experiments, the demo model
    archive   whole archives captioned on Ray Data into resumable parquet shards; beside training
    cli       the ``rsic`` command

Nothing in ``rsic_core`` imports streamlit or gradio; the app (``app.py``, ``views/``, ``ui/``) and
the Gradio demo (``demo.py``) sit on top.
"""
