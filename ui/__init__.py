"""What the app's pages (``views/``) share; the only package besides ``views`` that imports Streamlit.

Streamlit's caches live in the ``*_cache.py`` modules, one per page or group of pages, and in ``resources``
(``st.cache_resource`` for models and processors only, ``st.cache_data`` for plain data only):

- ``resources``: datasets, their validation and thumbnails, the demo dataset generated on first use;
- ``models_cache``: captioning models (one load per model, adapter, device and precision);
- ``runs_cache``: run folders for Compare, Runs and Efficiency, and the Evaluate form;
- ``preprocess_cache``: the preprocessing results of Caption statistics and Synonym clusters;
- ``grounding_cache``: word heatmaps; ``scene_cache``: the Map page's scenes, tiles and searches;
- ``costs_cache``: the Efficiency page's real-shape costs.

Not cached: ``train_cache`` (the Train page's form and a run's status, read fresh on every rerun),
``caption_sets`` (the "Save these captions" control), ``state`` (which dataset is loaded).
"""
