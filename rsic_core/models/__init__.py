"""Captioning models: the Family protocol, one file per family, loading, tiny builders, captioning.

Lives here:

- ``base``: Family, Captioner, device and dtype choice
- ``families/``: one file (or package) per model family: everything that family knows
- ``registry``: the only importer of the family files; ``load_captioner``, ``family_of``, ``build_tiny``,
  ``build_shape``
- ``loading``: the parts of a model or adapter folder (safetensors only, one sentence per broken part)
- ``checkpoints``: the authors' released checkpoints read safely, their keys checked against a model
- ``backbones``: public configs of pretrained backbones that more than one family builds on (OPT-2.7B)
- ``tiny``: the tokenizer and helpers shared by the tiny builders
- ``inference``: batched captioning, token limits within the context
- ``generation_speed``: static KV cache, compiled decoding step, prefetching
- ``grounding``: one heatmap per word of a generated caption (``rsic explain``)
- ``cards``: what a model knows (scene classes, kind of images), from its folder's ``training.json``

May import: ``rsic_core.data``, ``rsic_core.text``, ``rsic_core.paths``.
"""
