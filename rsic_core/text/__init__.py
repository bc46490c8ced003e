"""Caption text: word splitting, sentence embeddings, preprocessing, synonyms, the guard, statistics.

Lives here:

- ``words``: the one word splitter, stopwords and number words
- ``embeddings``: the sentence embedder shared by synonyms and Geo-Sim, with an offline default
- ``preprocess``: the preprocessing pipeline of the RISC study, every step reported
- ``subwords``: SentencePiece subwords (train, re-tokenise, decode)
- ``synonyms``: synonym clustering (DBSCAN) checked by WordNet, with ``wordnet`` (WordNet offline)
- ``guard``: refuses training or reference captions that are not natural language
- ``stats``: caption statistics tables and their plotly figures
- ``cache`` (the preprocessing cache) and ``array_cache`` (word vectors and layouts on disk), both data only

May import: ``rsic_core.paths`` only (the bottom layer; captions come in as plain strings).
"""
