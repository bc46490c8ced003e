"""Captioning models: the Family protocol, one file per family, loading, tiny builders, captioning.

Lives here: ``base`` (Family, Captioner, device and dtype choice), ``families/`` (one file per
model family: everything that family knows), ``registry`` (the only importer of the family files;
``load_captioner``, ``family_of``, ``build_tiny``, ``build_shape``), ``loading`` (the parts of a model
or adapter folder: safetensors only, one sentence per broken part), ``tiny`` (tokenizer and helpers
shared by the tiny builders), ``inference`` (batched captioning, token limits within the context).

May import: ``rsic_core.data``, ``rsic_core.text``, ``rsic_core.paths``.
"""
