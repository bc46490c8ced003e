"""The speed switches of generation: a static KV cache, transformers' compiled decoding step, prefetching.

:func:`speed_kwargs` turns ``CaptionConfig.gen_cache`` / ``gen_compile`` into ``generate`` arguments for
the captioner's device; :mod:`rsic_core.models.inference` also asks :func:`compiling` (then every batch is
given the same size, so the compiled graph is reused) and :func:`prefetching` (read and preprocess the next
batch in a thread). "auto" means: on CUDA, a static cache where transformers marks the generating model
compilable (``_can_compile_fullgraph``: BLIP-2's and BITA's OPT, not PaliGemma, BLIP or PureT), compiled as
transformers' ``generate`` compiles it (its ``CompileConfig``: inductor, ``reduce-overhead``), and prefetching;
on CPU nothing changes.

Example::

    model.generate(**inputs, **generation_kwargs(config), **speed_kwargs(captioner, config))
"""

from __future__ import annotations

from typing import Any


def static_cache_support(model) -> str | None:
    """None when ``generate`` can run ``model`` with a static KV cache, else why not (one sentence).

    The model that generates is ``model`` itself, or the language model its own ``generate`` hands the
    work to (BLIP-2, BITA); it must be one that transformers marks compilable (``_can_compile_fullgraph``).
    """
    from transformers import GenerationMixin

    name = type(model).__name__
    if hasattr(model, "peft_config"):
        return f"{name} carries an unmerged adapter"
    generating = model
    if type(model).generate is not GenerationMixin.generate:
        generating = getattr(model, "language_model", None)
        if not isinstance(generating, GenerationMixin):
            return f"{name} generates with its own loop, which takes no static cache"
    if not getattr(generating, "_can_compile_fullgraph", False):
        return f"transformers does not mark {type(generating).__name__} as compilable with a static cache"
    return None


def speed_kwargs(captioner: Any, config: Any) -> dict:
    """The cache and compile arguments of ``generate`` that ``config`` asks for on the captioner's device.

    Raises:
        ValueError: ``gen_cache`` static for a model that cannot take it, or ``gen_compile`` on without a static cache.
    """
    cache = _cache_choice(captioner, config)
    if cache == "dynamic":
        if config.gen_compile == "on":
            raise ValueError("gen_compile on needs a static cache (gen_cache static or auto on CUDA)")
        return {}
    kwargs: dict = {"cache_implementation": "static"}
    if config.gen_compile == "off":
        kwargs["disable_compile"] = True  # transformers compiles on CUDA with a static cache unless told not to
    elif config.gen_compile == "on" and not _on_cuda(captioner):
        kwargs["compile_config"] = compile_config(all_devices=True)
    return kwargs


def compile_config(all_devices: bool = False):
    """transformers' ``CompileConfig`` for the decoding step (its defaults; ``all_devices`` also compiles on CPU)."""
    from transformers import CompileConfig

    config = CompileConfig()
    if all_devices:
        config._compile_all_devices = True  # transformers' own switch for compiling off CUDA (tests)
    return config


def _cache_choice(captioner: Any, config: Any) -> str:
    if config.gen_cache == "dynamic":
        return "dynamic"
    why = static_cache_support(captioner.model)
    if config.gen_cache == "static" and why:
        raise ValueError(
            f"gen_cache static: {captioner.family.title} cannot generate with a static KV cache here ({why}); "
            "use gen_cache auto or dynamic"
        )
    return "static" if config.gen_cache == "static" or (why is None and _on_cuda(captioner)) else "dynamic"


def compiling(captioner: Any, config: Any) -> bool:
    """Whether generation runs a compiled decoding step (then every batch should have the same size)."""
    if config.gen_compile == "off" or _cache_choice(captioner, config) != "static":
        return False
    return config.gen_compile == "on" or _on_cuda(captioner)


def prefetching(captioner: Any, config: Any) -> bool:
    return config.prefetch == "on" or (config.prefetch == "auto" and _on_cuda(captioner))


def _on_cuda(captioner: Any) -> bool:
    return str(captioner.device).startswith("cuda")
