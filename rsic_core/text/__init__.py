"""Caption text: word splitting, sentence embeddings, preprocessing, synonyms, the guard, statistics.

Lives here: ``words`` (the one word splitter, stopwords and number words), ``embeddings`` (the
sentence embedder shared by synonyms and Geo-Sim), ``preprocess`` (the pipeline), ``subwords``
(SentencePiece), ``synonyms`` (DBSCAN + WordNet mapping), ``wordnet``, ``guard`` (natural-language
check), ``stats`` (caption statistics tables and figures), ``cache`` (the preprocessing cache) and
``array_cache`` (word vectors and layouts on disk), both data only.

May import: ``rsic_core.paths`` only (the bottom layer; captions come in as plain strings).
"""
