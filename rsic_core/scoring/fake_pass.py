"""One forward pass on fake tensors under torch's FLOP counter: the MACs of a model without its weights.

    counts, logit_positions = count_macs(model, batch, keep_logits=20)   # {"": total, module path: MACs}

``torch.utils.flop_counter.FlopCounterMode`` counts the ops; ``FakeTensorMode`` runs them on shapes only, so a
3.7 B model on the meta device costs seconds. Neither helps a model that reads its inputs' values
(``int(mask.sum())`` to count image tokens): :class:`_RealIntegers` keeps the real values of the small integer
tensors beside the fake ones. That part needs two private torch APIs, checked on torch 2.13.0 (the pinned
version): ``torch.utils._python_dispatch._disable_current_modes`` (compute a real value inside the fake mode)
and ``OpOverload._schema`` (which arguments an op writes to); no public API gives either.
"""

from __future__ import annotations


def count_macs(model, batch: dict, keep_logits: int | None = None) -> tuple[dict[str, int], int | None]:
    """MACs of ``model(**batch)`` on fake tensors, and how many positions got logits.

    Args:
        model: the model, possibly on the meta device (the inputs are moved there; nothing is computed).
        batch: its inputs.
        keep_logits (None): ask for logits at the last N positions only (transformers' ``logits_to_keep``,
            as generation computes them), without labels; a model that refuses it is counted with the
            labels of ``batch`` and logits wherever it computes them.

    Returns:
        ("" -> the total, module path -> its share), and the number of positions that got logits
        (None when the output does not say).
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    was = {name: p.requires_grad for name, p in model.named_parameters()}
    model.requires_grad_(False)  # the counter's module tracker needs no autograd graph
    plain = {k: v for k, v in batch.items() if k != "labels"}
    tries = ([{**plain, "logits_to_keep": keep_logits}] if keep_logits else []) + [batch]
    try:
        for i, inputs in enumerate(tries):
            counter = FlopCounterMode(display=False)
            try:
                output = _fake_forward(model, inputs, counter)
                break
            except TypeError as error:  # e.g. "unexpected keyword argument 'logits_to_keep'": try the next way
                if i == len(tries) - 1:
                    raise ValueError(
                        f"counting {type(model).__name__}'s MACs failed in its forward pass: {error}"
                    ) from error
    finally:
        for name, p in model.named_parameters():
            p.requires_grad_(was[name])
    counts = {"": int(counter.get_total_flops()) // 2}
    for module, ops in counter.get_flop_counts().items():
        path = module.split(".", 1)[1] if "." in module else ""
        if path:
            counts[path] = int(sum(ops.values())) // 2
    logits = getattr(output, "logits", None)
    return counts, int(logits.shape[1]) if torch.is_tensor(logits) and logits.dim() == 3 else None


def _fake_forward(model, inputs: dict, counter):
    """``model(**inputs)`` under ``counter`` (a ``FlopCounterMode``), every tensor fake (shapes only, no data).

    Checks that read data pass as when traced (transformers skips them on fake tensors), and the
    small integer tensors that come from the inputs (ids, masks, positions) keep their real values
    beside the fake ones (:class:`_RealIntegers`), so a model that counts its image tokens with
    ``int(mask.sum())`` gets the real count.
    """
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.symbolic_shapes import ShapeEnv
    from torch.nn.attention import SDPBackend, sdpa_kernel

    device = model_device(model)  # meta for a shape; a loaded model's weights become fake tensors too
    mode = FakeTensorMode(allow_non_fake_inputs=True, shape_env=ShapeEnv(), static_shapes=True)
    real = _RealIntegers()
    with mode:
        fake = {}
        for key, value in inputs.items():
            fake[key] = mode.from_tensor(value.to(device)) if torch.is_tensor(value) else value
            if torch.is_tensor(value) and _small_integer(value):
                real.values[id(fake[key])] = (fake[key], value)
    math = sdpa_kernel(SDPBackend.MATH)  # on any device: the counter knows no formula for the CPU flash kernel
    with torch.no_grad(), math, mode, real, counter:  # the counter sees each op first, the fake mode computes it
        return model(**fake)


def model_device(model):
    return next(model.parameters()).device


def _small_integer(tensor) -> bool:
    return not (tensor.is_floating_point() or tensor.is_complex()) and tensor.numel() <= 1_000_000


def _written(func, args: tuple, kwargs: dict) -> list:
    """The tensors an op writes to (its schema's mutable arguments)."""
    written = []
    for i, argument in enumerate(func._schema.arguments):
        if argument.alias_info is not None and argument.alias_info.is_write:
            value = args[i] if i < len(args) else kwargs.get(argument.name)
            written += [value] if value is not None else []
    return written


def _dispatch_mode():
    from torch.utils._python_dispatch import TorchDispatchMode

    return TorchDispatchMode


class _RealIntegers(_dispatch_mode()):
    """Beside a fake forward, the real values of integer tensors computed only from other known integer tensors."""

    def __init__(self):
        super().__init__()
        self.values: dict[int, tuple] = {}  # id(fake) -> (fake, its real CPU value)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        import torch
        from torch.utils._python_dispatch import _disable_current_modes
        from torch.utils._pytree import tree_flatten, tree_map

        kwargs = kwargs or {}
        if func is torch.ops.aten._local_scalar_dense.default and id(args[0]) in self.values:
            with _disable_current_modes():  # int(...), bool(...) of a known tensor: its real value
                return self.values[id(args[0])][1].item()
        out = func(*args, **kwargs)
        tensors = [t for t in tree_flatten((args, kwargs))[0] if torch.is_tensor(t)]
        outs = [t for t in tree_flatten(out)[0] if torch.is_tensor(t)]
        known = all(id(t) in self.values for t in tensors)
        for t in _written(func, args, kwargs) if not known else []:
            self.values.pop(id(t), None)  # changed by an op of unknown values: no longer known
        if not known or not outs or not all(_small_integer(t) for t in outs):
            return out

        def real(value):
            if torch.is_tensor(value):
                return self.values[id(value)][1]
            return torch.device("cpu") if isinstance(value, torch.device) else value

        real_args, real_kwargs = tree_map(real, args), tree_map(real, kwargs)
        if "device" in real_kwargs:
            real_kwargs["device"] = torch.device("cpu")
        with _disable_current_modes():
            result = func(*real_args, **real_kwargs)
        for fake_t, real_t in zip(outs, [t for t in tree_flatten(result)[0] if torch.is_tensor(t)], strict=False):
            self.values[id(fake_t)] = (fake_t, real_t)
        return out
