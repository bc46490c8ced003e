"""Time the preprocessing pipeline on a RISC-size corpus (222,605 generated captions).

    .venv/bin/python bench/bench_preprocess.py [--captions 222605] [--seed 0]

The corpus comes from templates over a realistic remote-sensing vocabulary (scene nouns with
their plurals, colours, sizes, spatial phrases, WordNet synonyms such as plane/airplane) plus
typos like the human references have, so the caption vocabulary reaches a few thousand words.
Prints one row per step (wall and CPU seconds, captions, what it did), then the cached re-run and
the load average (the machine is shared: wall time includes waiting when it is busy). Everything is
written to a temporary ``RSIC_HOME``; the embedder is the packaged all-MiniLM-L6-v2 on CPU.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time

RISC_CAPTIONS = 222_605
NOUNS = (
    "airport runway plane airplane aircraft building house residence road street highway bridge river "
    "lake pond sea ocean beach coast harbor port ship boat vessel tree forest wood meadow grassland "
    "field farmland crop parking lot car vehicle truck bus stadium playground court pool church school "
    "factory warehouse tank container railway train station park garden lawn square mountain hill "
    "desert sand dune island rock cliff valley bay wave road intersection roundabout viaduct overpass "
    "roof tower chimney pipeline dam canal bank shore path trail fence wall yard greenhouse golf course "
    "baseball diamond tennis basketball soccer track center resort apartment villa hospital campus "
    "plaza market mall terminal hangar apron taxiway helipad container crane dock pier jetty marina "
    "orchard vineyard paddy terrace pasture prairie swamp marsh wetland glacier snow ice cloud"
).split()
ADJECTIVES = (
    "green white red blue grey gray dark light large big small little huge tiny tall long short wide "
    "narrow dense sparse many several few straight curved winding bright empty busy old new modern "
    "square round rectangular circular irregular neat tidy scattered crowded quiet open flat"
).split()
RELATIONS = (
    "near|next to|beside|around|along|across|between|surrounded by|close to|in front of|behind|"
    "on both sides of|at the edge of|in the middle of|on one side of|parallel to|opposite"
).split("|")
VERBS = "are|is|lie|stand|are located|are parked|are arranged|are scattered|are built|run".split("|")
TEMPLATES = (
    "{det} {adj} {noun} {verb} {rel} {det2} {adj2} {noun2} .",
    "there are {num} {adj} {nouns} {rel} the {noun2} .",
    "{det} {noun} with {num} {adj} {nouns} {rel} it .",
    "many {adj} {nouns} and {adj2} {nouns2} are {rel} {det2} {noun3} .",
    "{det} {adj} {noun} is {rel} {det2} {noun2} and some {nouns3} .",
    "some {nouns} {verb} {rel} {det2} {adj2} {noun2} in {det3} {adj3} area .",
    "{num} {nouns} .",  # too short: dropped by the length filter
    "{det} {adj} {noun} {verb} {rel} {det2} {adj2} {noun2} while {num} {adj3} {nouns3} {verb2} {rel2} "
    "{det3} {noun3} and several {nouns4} are {rel3} the {adj4} {noun4} .",  # long: often dropped
)
NUMBERS = "two three four five six seven eight nine ten some many several".split()


def _plural(noun: str) -> str:
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word))
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1 :]  # drop a letter
    if kind == 1 and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swap two letters
    return word[:i] + rng.choice("aeinorst") + word[i:]  # insert a letter


def generate_corpus(n: int = RISC_CAPTIONS, seed: int = 0, typo_rate: float = 0.02) -> list[str]:
    """``n`` template captions; about ``typo_rate`` of the words are misspelt."""
    rng = random.Random(seed)

    def word(pool):
        w = rng.choice(pool)
        return _typo(w, rng) if len(w) > 3 and rng.random() < typo_rate else w

    captions = []
    for _ in range(n):
        slots = {}
        for k in ("", "2", "3", "4"):
            slots["noun" + k] = word(NOUNS)
            slots["nouns" + k] = _plural(word(NOUNS))
            slots["adj" + k] = word(ADJECTIVES)
            slots["rel" + k] = rng.choice(RELATIONS)
            slots["verb" + k] = rng.choice(VERBS)
            slots["det" + k] = rng.choice(("a", "the", "a", "one"))
        slots["num"] = rng.choice(NUMBERS)
        caption = rng.choice(TEMPLATES).format(**slots)
        captions.append(caption[0].upper() + caption[1:] if rng.random() < 0.3 else caption)
    return captions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=RISC_CAPTIONS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="rsic-bench-")
    os.environ["RSIC_HOME"] = home
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rsic_core.text.preprocess import PreprocessConfig, preprocess
    from rsic_core.text.synonyms import word_counts

    t = time.perf_counter()
    captions = generate_corpus(args.captions, args.seed)
    print(
        f"corpus: {len(captions):,} captions, {len(word_counts(captions)):,} distinct words "
        f"(generated in {time.perf_counter() - t:.1f} s); {os.cpu_count()} CPU cores, shared"
    )
    config = PreprocessConfig()
    t, cpu = time.perf_counter(), time.process_time()
    result = preprocess(captions, config)
    first, first_cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"\n{'step':15s} {'wall s':>7s} {'CPU s':>7s} {'in':>9s} {'out':>9s} {'changed':>9s}  details")
    for s in result.steps:
        print(
            f"{s.name:15s} {s.seconds:7.1f} {s.cpu_seconds:7.1f} {s.captions_in:9,d} {s.captions_out:9,d} "
            f"{s.changed:9,d}  {s.details}"
        )
        for note in s.notes:
            print(f"{'':15s} note: {note}")
    print(
        f"{'whole pipeline':15s} {first:7.1f} {first_cpu:7.1f}  (embedder and WordNet loading, guard and cache writing included)"
    )
    t, cpu = time.perf_counter(), time.process_time()
    again = preprocess(captions, config)
    print(
        f"{'cached re-run':15s} {time.perf_counter() - t:7.2f} {time.process_time() - cpu:7.2f}  "
        f"(from cache: {again.from_cache}; hashing the captions included)"
    )
    load = os.getloadavg()[0]
    print(
        f"load average at the end: {load:.1f} on {os.cpu_count()} cores "
        f"({'contended: wall time includes waiting for other processes' if load > 2.5 else 'quiet'})"
    )
    print(f"guard: {result.guard.summary().splitlines()[0]}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
