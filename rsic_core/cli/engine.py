"""``--engine local|ray`` and the Ray options, shared by ``rsic caption``, ``rsic evaluate`` and ``rsic scene caption``.

    rsic caption archive/ --engine ray --address auto --num-workers 4 --out DIR

The options are the fields of :class:`rsic_core.archive.ray_engine.EngineConfig` (which imports no ray);
:func:`engine_config` turns them into one, refusing Ray options given without ``--engine ray``.
"""

from __future__ import annotations

import argparse

ENGINE_OPTIONS = {  # option -> EngineConfig field
    "--address": "ray_address",
    "--num-workers": "ray_num_workers",
    "--gpus-per-worker": "ray_gpus_per_worker",
    "--cpus-per-worker": "ray_cpus_per_worker",
    "--shard-size": "ray_shard_size",
}


def add_engine_arguments(p) -> None:
    """``--engine local|ray`` and the Ray options (the fields of ``EngineConfig``), for caption and evaluate."""
    import dataclasses

    from rsic_core.archive.ray_engine import EngineConfig  # imports no ray

    group = p.add_argument_group("engine")
    group.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process; ray: Ray Data actors, resumable parquet shards under --out (default local)",
    )
    fields = {f.name: f for f in dataclasses.fields(EngineConfig)}
    kinds = {"ray_address": str, "ray_num_workers": int, "ray_shard_size": int}
    for option, name in ENGINE_OPTIONS.items():
        f = fields[name]
        default = "" if f.default is None else f"; default {f.default:g}"
        group.add_argument(
            option,
            "--" + name.replace("_", "-"),
            dest=name,
            type=kinds.get(name, float),
            default=None,
            metavar=option[2:].split("-")[0].upper(),
            help=f"{f.metadata['help']} (--engine ray{default})",
        )


def engine_config(args: argparse.Namespace):
    """The ``EngineConfig`` of the options given; Ray options without ``--engine ray`` are refused."""
    from rsic_core.archive.ray_engine import EngineConfig, check_address

    given = {name: getattr(args, name) for name in ENGINE_OPTIONS.values() if getattr(args, name, None) is not None}
    if args.engine != "ray":
        if given:
            option = next(o for o, n in ENGINE_OPTIONS.items() if n in given)
            raise ValueError(f"{option} is an option of --engine ray; add --engine ray or leave it out")
        return None
    engine = EngineConfig(**given)
    if engine.ray_address:
        check_address(engine.ray_address)  # before any work: an address where nothing answers
    return engine
