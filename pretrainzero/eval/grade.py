r"""Graders: math equivalence with Math-Verify in a process pool, and BBEH's fuzzy match.

Math-Verify turns model text into sympy objects. That is parsing, not ``eval``, but sympy can
still hang (``10^{10^{10}}``) or crash on adversarial output, and its built-in timeouts are
signal-based, so they only work in a process's main thread. Every math verdict is therefore
computed in a separate worker process with two guards: Math-Verify's own per-call timeouts inside
the worker, and a hard wall-clock limit enforced by the parent, which kills the pool when an item
overruns. A hang or crash is a wrong answer and never stops the run.

The pool is created lazily, kept for the life of the process (so per-sample calls cost an IPC
round trip, not a process start) and replaced after a kill.
"""

from __future__ import annotations

import atexit
import importlib.util
import multiprocessing as mp
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.pool import Pool
from typing import Any

from ..errors import SetupError

GRADER_ID = "math-verify"
GRADER_VERSION = 2
# Allowance for a fresh worker to start and import math_verify/sympy (seconds, loaded CPUs).
_STARTUP_ALLOWANCE_S = 120.0
# Two plain numbers whose relative difference exceeds this are different answers, whatever
# Math-Verify says (it rounds to 6 decimal places, so 6.6e-34 and 1.38e-23 both round to 0).
NUMBER_REL_TOL = 1e-6


class GraderUnavailable(SetupError):
    """The math grader cannot run (Math-Verify missing, or its worker processes die on start-up)."""


def _as_latex_target(text: str) -> str:
    r"""Wrap a bare answer so Math-Verify's LaTeX extractor sees it (it only looks inside ``$``/``\boxed``)."""
    text = text.strip()
    if "\\boxed" in text or "$" in text:
        return text
    return "\\boxed{" + text + "}"


# A number in e-notation standing alone (not part of a word, a command or a longer number).
_E_NOTATION = re.compile(r"(?<![\w.\\^_])(\d+(?:\.\d*)?|\.\d+)[eE]([+-]?\d+)(?![\w.])")
# A number followed by plain words, the first of at least two letters ("18 dollars", "5 cm"); a
# single letter is a variable ("3 n") and stays.
_NUMBER_THEN_WORDS = re.compile(r"^\s*(-?[\d.,]+(?:/\d+)?)\s+[A-Za-z]{2,}[A-Za-z .]*$")


def normalize_answer(text: str) -> str:
    r"""The one normalisation applied to gold and prediction alike before grading (grader v2).

    * ``\$`` (a currency sign) and ``$`` (math delimiters: OlympiadBench joins multi-answers
      with ``$,$``) are dropped: ``\$32,\!348`` -> ``32,\!348``, ``x=3$, $x=-3`` -> ``x=3, x=-3``.
    * e-notation becomes LaTeX: ``4.5e33`` -> ``4.5\times 10^{33}`` (Math-Verify reads the ``e``
      of ``4.5e33`` as Euler's number, so it never equals ``4.5 \times 10^{33}``).
    * trailing plain-word units after a number are dropped (``18 dollars`` -> ``18``); a single
      letter is kept, it is a variable (``3 n``). ``\text{}`` units are left to Math-Verify.
    """
    text = text.replace("\\$", "").replace("$", "").strip()
    text = _E_NOTATION.sub(lambda m: f"{m.group(1)}\\times 10^{{{int(m.group(2))}}}", text)
    m = _NUMBER_THEN_WORDS.match(text)
    if m:
        text = m.group(1)
    return text.strip()


_UNIT_TAIL = re.compile(r"(?:\s|~|\\[,;! ])*\\(?:text|mathrm|mbox|rm)\s*\{[^{}]*\}\s*$")
_PLAIN_NUMBER = re.compile(
    r"^(-?(?:\d+(?:\.\d*)?|\.\d+))(?:(?:\\times|\\cdot)10\^(?:\{(-?\d+)\}|(-?\d)))?$"
)


def plain_number(text: str) -> float | None:
    r"""The value of a normalised answer that is just a number (``0.5``, ``32,348``,
    ``4.5\times 10^{33}``, ``3 \text{ m}``), else ``None``. Only used to veto false matches."""
    t = _UNIT_TAIL.sub("", text)
    t = re.sub(r"\\[,;! ]|\{,\}|\s", lambda m: "," if m.group(0) == "{,}" else "", t)
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d*)?", t):
        t = t.replace(",", "")
    m = _PLAIN_NUMBER.match(t)
    if not m:
        return None
    exp = m.group(2) or m.group(3)
    try:
        return float(m.group(1)) * (10.0 ** int(exp) if exp else 1.0)
    except OverflowError:
        return None


def numbers_differ(gold: str, pred: str) -> bool:
    """True when both normalised answers are plain numbers whose relative difference exceeds
    :data:`NUMBER_REL_TOL` (a veto: it can only turn Math-Verify's "equal" into "wrong")."""
    g, p = plain_number(gold), plain_number(pred)
    if g is None or p is None:
        return False
    return abs(g - p) > NUMBER_REL_TOL * max(abs(g), abs(p))


def _verify_in_process(pred: str, gold: str, timeout_s: float) -> bool:
    """Math-Verify verdict on normalised answers, gold parsed first (``verify`` is asymmetric).

    Identical normalised strings are equal without parsing; two plain numbers that differ
    relatively by more than :data:`NUMBER_REL_TOL` are different. Runs inside a worker.
    """
    from math_verify import parse, verify

    gold, pred = normalize_answer(gold), normalize_answer(pred)
    if not gold or not pred:
        return False
    if gold == pred:
        return True
    if numbers_differ(gold, pred):
        return False
    seconds = max(1, int(round(timeout_s)))
    gold_parsed = parse(_as_latex_target(gold), parsing_timeout=seconds)
    if not gold_parsed:
        gold_parsed = parse(gold, parsing_timeout=seconds)
    pred_parsed = parse(_as_latex_target(pred), parsing_timeout=seconds)
    if not pred_parsed:
        pred_parsed = parse(pred, parsing_timeout=seconds)
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=seconds))


def _worker_init() -> None:
    # Import once per worker so the first graded item does not pay for sympy's import.
    import math_verify  # noqa: F401


def _worker_grade(pred: str, gold: str, timeout_s: float) -> bool:
    try:
        return _verify_in_process(pred, gold, timeout_s)
    except Exception:  # any parser/sympy failure is a wrong answer, not a crash
        return False


def _ping() -> bool:
    return True


def _start_pool(workers: int) -> Pool:
    """A spawn-context pool whose workers are proven alive (one answered a ping).

    ``multiprocessing.Pool`` silently replaces workers that die while starting, so without this
    check a pool that can never start (Math-Verify not installed, a script without an ``if
    __name__ == "__main__":`` guard) would turn every math answer into a timeout, i.e. wrong.
    """
    if importlib.util.find_spec("math_verify") is None:
        raise GraderUnavailable("math grader: the math_verify package is not installed "
                                "(pip install 'math-verify[antlr4_13_2]', or pip install -e '.[eval]')")
    # spawn, not fork: the parent may hold torch/tokenizer threads that fork would deadlock.
    pool = mp.get_context("spawn").Pool(workers, initializer=_worker_init)
    first = list(getattr(pool, "_pool", []))  # the workers started now; the pool replaces dead ones
    ping = pool.apply_async(_ping)
    deadline = time.monotonic() + _STARTUP_ALLOWANCE_S
    while not ping.ready():
        dead = [w.exitcode for w in first if w.exitcode not in (None, 0)]
        if dead or time.monotonic() > deadline:
            pool.terminate()
            pool.join()
            why = (f"exited during start-up (exit code {dead[0]})" if dead
                   else f"did not answer within {_STARTUP_ALLOWANCE_S:.0f} s")
            raise GraderUnavailable(
                f"math grader worker processes {why}, so no math answer could be graded; the run stops "
                "instead of scoring every item wrong. The workers' own error is printed above. From a "
                "script, call the evaluation under `if __name__ == '__main__':` (workers are spawned and "
                "re-import the main module)."
            )
        time.sleep(0.05)
    return pool


class _GraderPool:
    """One lazily created spawn-context pool, recreated after a kill or a size change."""

    def __init__(self) -> None:
        self._pool: Pool | None = None
        self._workers = 0
        self._fresh = False
        self._lock = threading.Lock()

    def get(self, workers: int | None) -> tuple[Pool, bool]:
        """The pool (and whether it is new). ``workers=None`` reuses any live pool, whatever its size."""
        if workers is None:
            workers = self._workers if self._pool is not None else _default_workers()
        if self._pool is None or workers != self._workers:
            self.close()
            self._pool = _start_pool(workers)
            self._workers = workers
            self._fresh = True
        fresh, self._fresh = self._fresh, False
        return self._pool, fresh

    def kill(self) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


_POOL = _GraderPool()
atexit.register(_POOL.close)


def _default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def run_guarded(fn: Callable[..., Any], arg_tuples: Sequence[tuple[Any, ...]], workers: int | None,
                hard_limit_s: float, default: Any) -> list[Any]:
    """``[fn(*args) for args in arg_tuples]`` in the shared worker pool, each item under a hard
    wall-clock limit. An item that overruns, raises, or whose worker dies gets ``default``; on an
    overrun the pool is killed and the unfinished items are resubmitted to a fresh one.
    ``fn`` must be importable by name (spawned workers unpickle it).
    """
    results: list[Any] = [default] * len(arg_tuples)
    todo = list(range(len(arg_tuples)))
    with _POOL._lock:
        while todo:
            pool, fresh = _POOL.get(workers)
            n_workers = _POOL._workers
            handles = [(i, pool.apply_async(fn, arg_tuples[i])) for i in todo]
            todo = []
            for pos, (i, handle) in enumerate(handles):
                # Items run in submission order, so when we start waiting on one it is already
                # running (or done); only the first waits on a fresh pool include worker start-up.
                limit = hard_limit_s + (_STARTUP_ALLOWANCE_S if fresh and pos < n_workers else 0.0)
                try:
                    results[i] = handle.get(timeout=limit)
                except mp.TimeoutError:
                    results[i] = default
                    for j, other in handles[pos + 1 :]:
                        if other.ready():
                            try:
                                results[j] = other.get(timeout=0)
                            except Exception:
                                results[j] = default
                        else:
                            todo.append(j)
                    _POOL.kill()
                    break
                except Exception:
                    results[i] = default
    return results


def grade_math_batch(
    preds: Sequence[str | None],
    golds: Sequence[str],
    workers: int | None = None,
    timeout_s: float = 5.0,
) -> list[bool]:
    """Math-Verify verdicts for aligned ``preds``/``golds``; ``None`` or empty preds are wrong.

    Each item gets ``timeout_s`` for parsing and again for verification inside its worker, and a
    hard wall-clock limit of ``2 * timeout_s + 2`` s enforced here (for hangs in C code that no
    signal interrupts, e.g. huge integer powers). An item that overruns or crashes is wrong.
    """
    if len(preds) != len(golds):
        raise ValueError(f"preds ({len(preds)}) and golds ({len(golds)}) differ in length")
    verdicts = [False] * len(preds)
    todo = [i for i, p in enumerate(preds) if p is not None and str(p).strip()]
    if not todo:
        return verdicts
    got = run_guarded(_worker_grade, [(str(preds[i]), str(golds[i]), timeout_s) for i in todo], workers,
                      2.0 * timeout_s + 2.0, False)
    for i, ok in zip(todo, got, strict=True):
        verdicts[i] = bool(ok)
    return verdicts


def grade_math(pred: str | None, gold: str, timeout_s: float = 5.0) -> bool:
    """One Math-Verify verdict (gold parsed first), computed in the shared worker pool."""
    return grade_math_batch([pred], [gold], workers=None, timeout_s=timeout_s)[0]


def shutdown_pool() -> None:
    """Terminate the grader workers now (they are also terminated at interpreter exit)."""
    with _POOL._lock:
        _POOL.close()


# --------------------------------------------------------------------------- BBEH
# The official BBEH evaluator (google-deepmind/bbeh ``evaluate.py``), re-typed: answer-prefix
# stripping, light LaTeX unwrapping, lower-casing, then a fuzzy equality. General-Reasoner feeds
# it the last \boxed{} content instead of the raw response; the prefixes are then no-ops.

_BBEH_PREFIXES = ("The answer is:", "The final answer is ", "The final answer is: ", "The answer is ")


def _bbeh_strip_latex(response: str) -> str:
    if response.startswith("$") and response.endswith("$"):
        response = response[1:-1]
    if "boxed{" in response and response.endswith("}"):
        response = response[0:-1].split("boxed{")[1]
    if "text{" in response and response.endswith("}"):
        response = response[0:-1].split("text{")[1]
    if "texttt{" in response and response.endswith("}"):
        response = response[0:-1].split("texttt{")[1]
    return response


def _bbeh_extract_answer(sample: str) -> str:
    answer = sample
    for prefix in _BBEH_PREFIXES:
        if prefix in answer:
            answer = answer.split(prefix)[-1].strip()
    if answer.endswith("."):
        answer = answer[:-1]
    return _bbeh_strip_latex(answer)


def bbeh_preprocess_prediction(sample: str) -> str:
    prediction = _bbeh_extract_answer(sample.strip()).lower()
    prediction = prediction.replace(", ", ",").replace("**", "")
    prediction = prediction.split("\n")[0]
    return prediction[0:-1] if prediction.endswith(".") else prediction


def bbeh_preprocess_reference(reference: str) -> str:
    return reference.strip().lower().replace(", ", ",")


def bbeh_fuzzy_match(prediction: str, reference: str) -> bool:
    """BBEH's fuzzy equality on preprocessed strings: ``(a)``~``a``, numbers, quotes, brackets, ``?``."""
    if prediction == reference:
        return True
    if len(prediction) == 3 and prediction[0] == "(" and prediction[-1] == ")":
        return prediction[1] == reference
    if len(reference) == 3 and reference[0] == "(" and reference[-1] == ")":
        return reference[1] == prediction
    try:
        if float(prediction) == float(reference):
            return True
    except ValueError:
        pass
    if prediction.replace("'", "") == reference.replace("'", ""):
        return True
    if f"[{reference}]" == prediction or f"[{prediction}]" == reference:
        return True
    return prediction.endswith("?") and prediction[:-1] == reference


def grade_bbeh(pred: str | None, gold: str) -> bool:
    """Official BBEH correctness of an extracted answer; ``None`` (nothing extracted) is wrong."""
    if pred is None:
        return False
    return bbeh_fuzzy_match(bbeh_preprocess_prediction(pred), bbeh_preprocess_reference(gold))
