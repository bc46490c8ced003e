"""coco-caption's Java and Python scorers (pycocoevalcap), called so that they do not break.

Same jars, options and scoring code as pycocoevalcap, with these differences in how they run:

- PTB tokenizer: its temporary file goes to the system temporary folder (pycocoevalcap writes it
  into its own package folder), references and predictions are tokenized in one JVM call, and a
  line count mismatch cannot shift captions between images.
- METEOR 1.5: the paraphrase table is passed with ``-a`` (the jar's own lookup URL-encodes a space
  in the package path and dies, which pycocoevalcap reports as "Broken pipe"); one process is kept
  per Python process and restarted if it dies.
- Java missing: one ``ValueError`` sentence (:data:`JAVA_MISSING`).
- SPICE: run only when its Stanford CoreNLP models are already on disk; nothing is downloaded.

Each scorer takes the tokenized ``gts`` (id -> references) and ``res`` (id -> [prediction]) and
returns ``{metric name: (corpus score, per-image scores in id order)}``, or, for SPICE, the reason
it was skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

BLEU = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4")
METEOR, ROUGE_L, CIDER, SPICE = "METEOR", "ROUGE-L", "CIDEr", "SPICE"

JAVA_MISSING = (
    "coco-caption scoring needs Java (its PTB tokenizer and METEOR are Java programs) and no `java` "
    "was found on PATH: install a Java runtime (Debian: apt-get install default-jre-headless)"
)


def java() -> str:
    """The ``java`` executable on PATH (ValueError with :data:`JAVA_MISSING` when there is none)."""
    found = shutil.which("java")
    if found is None:
        raise ValueError(JAVA_MISSING)
    return found


def package_dir(sub: str) -> Path:
    """A sub-folder of the installed pycocoevalcap (``tokenizer``, ``meteor``, ``spice``)."""
    import pycocoevalcap  # a namespace package: no __file__

    return Path(next(iter(pycocoevalcap.__path__))).resolve() / sub


def ptb_tokenize(gts: dict[str, list[str]], res: dict[str, str]) -> tuple[dict, dict]:
    """pycocoevalcap's PTBTokenizer (same jar, options and punctuation filter) in one JVM call."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PUNCTUATIONS, STANFORD_CORENLP_3_4_1_JAR

    owners = [(i, "gts") for i, caps in gts.items() for _ in caps] + [(i, "res") for i in res]
    lines = [c for caps in gts.values() for c in caps] + list(res.values())
    jar = package_dir("tokenizer") / STANFORD_CORENLP_3_4_1_JAR
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        f.write("\n".join(lines))
    try:
        cmd = [java(), "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", "-lowerCase", f.name]
        out = subprocess.run(cmd, capture_output=True, check=False)
    finally:
        os.remove(f.name)
    if out.returncode != 0:
        raise ValueError(f"the PTB tokenizer failed: {out.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
    tokens = out.stdout.decode("utf-8", errors="replace").split("\n")
    tokens += [""] * (len(lines) - len(tokens))  # a trailing empty caption yields no final line
    tok_gts: dict[str, list[str]] = {i: [] for i in gts}
    tok_res: dict[str, list[str]] = {}
    for (i, side), line in zip(owners, tokens):
        text = " ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS)
        if side == "gts":
            tok_gts[i].append(text)
        else:
            tok_res[i] = [text]
    return tok_gts, tok_res


def bleu(gts, res):
    from pycocoevalcap.bleu.bleu import Bleu

    corpus, per_image = Bleu(4).compute_score(gts, res, verbose=0)
    return {name: (float(c), [float(x) for x in p]) for name, c, p in zip(BLEU, corpus, per_image)}


def rouge(gts, res):
    from pycocoevalcap.rouge.rouge import Rouge

    corpus, per_image = Rouge().compute_score(gts, res)
    return {ROUGE_L: (float(corpus), [float(x) for x in per_image])}


def cider(gts, res):
    from pycocoevalcap.cider.cider import Cider

    corpus, per_image = Cider().compute_score(gts, res)
    return {CIDER: (float(corpus), [float(x) for x in per_image])}


def meteor(gts, res):
    corpus, per_image = meteor_process().compute_score(gts, res)
    return {METEOR: (corpus, per_image)}


def spice(gts, res):
    """SPICE when its CoreNLP models are on disk; otherwise the reason it was skipped (a str)."""
    models = package_dir("spice") / "lib" / "stanford-corenlp-3.6.0-models.jar"
    if not models.is_file():
        return (
            "skipped: SPICE needs the Stanford CoreNLP 3.6.0 models, which pycocoevalcap downloads at "
            f"first use; they are not at {models} and nothing is downloaded at run time here"
        )
    try:
        from pycocoevalcap.spice.spice import Spice

        corpus, per_image = Spice().compute_score(gts, res)
    except Exception as e:  # the SPICE jar fails in many ways (memory, cache folder, parser)
        return f"skipped: SPICE failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    return {SPICE: (float(corpus), [float(x["All"]["f"]) for x in per_image])}


SCORERS = {"bleu": bleu, "rouge": rouge, "cider": cider, "spice": spice}


class MeteorProcess:
    """A long-lived METEOR 1.5 process speaking pycocoevalcap's stdio protocol."""

    def __init__(self) -> None:
        from pycocoevalcap.meteor.meteor import METEOR_JAR

        folder = package_dir("meteor")
        # Serial GC: half the memory of the default collector (about 0.58 GB, not 1.1 GB, measured) and no GC
        # threads competing with Python on a 2-core machine; the scores do not depend on the collector.
        cmd = [java(), "-Xmx2G", "-XX:+UseSerialGC", "-jar", str(folder / METEOR_JAR), "-", "-", "-stdio", "-l", "en"]
        cmd += ["-norm"]
        cmd += ["-a", str(folder / "data" / "paraphrase-en.gz")]  # the jar's own lookup breaks on spaces
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _ask(self, line: str) -> str:
        self.proc.stdin.write((line + "\n").encode("utf-8"))
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().decode("utf-8").strip()
        if not answer:
            raise ValueError("METEOR stopped answering (its Java process exited)")
        return answer

    def compute_score(self, gts: dict[str, list[str]], res: dict[str, list[str]]) -> tuple[float, list[float]]:
        with self.lock:
            stats = []
            for i in gts:
                hyp = res[i][0].replace("|||", "").replace("  ", " ")
                refs = [r.replace("|||", "") for r in gts[i]]
                stats.append(self._ask(" ||| ".join(("SCORE", " ||| ".join(refs), hyp))))
            self.proc.stdin.write(("EVAL ||| " + " ||| ".join(stats) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
            per_image = [float(self.proc.stdout.readline().strip()) for _ in stats]
            corpus = float(self.proc.stdout.readline().strip())
        return corpus, per_image


@lru_cache(maxsize=1)
def cached_meteor() -> MeteorProcess:
    return MeteorProcess()


def start_meteor() -> None:
    """Start the METEOR JVM now (it takes seconds to load its paraphrase table) so that it is ready when asked;
    without Java nothing happens here and scoring says so."""
    try:
        meteor_process()
    except ValueError:
        pass


def meteor_process() -> MeteorProcess:
    proc = cached_meteor()
    if not proc.alive():
        cached_meteor.cache_clear()
        proc = cached_meteor()
    return proc
