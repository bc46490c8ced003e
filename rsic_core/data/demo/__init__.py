"""The offline demo dataset: synthetic aerial scenes whose captions state what is drawn.

``scenes`` samples the facts of a class, ``canvas`` and ``drawing`` paint them, ``captions`` writes
five annotator-like captions, ``dataset`` puts them together (``generate_demo_dataset``,
``demo_dataset_dir``), ``mosaic`` lays demo tiles out as the georeferenced demo scene. It sits in the data layer so that training and evaluation can default to it.

May import: the rest of ``rsic_core.data``, ``rsic_core.text`` and ``rsic_core.paths``.
"""
