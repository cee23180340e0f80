"""The paper's aggregates for display: values from ``pretrainzero.eval.aggregate``, plus labels.

Math AVG = unweighted mean of MATH-500, OlympiadBench, Minerva, GSM8K, AMC23, AIME24.
Overall AVG = unweighted mean of {Math AVG, SuperGPQA, BBEH, MMLU-Pro} (math counted once).
The definitions live in ``pretrainzero.eval.aggregate`` (one source of truth, shared with the eval
runner); this module only adds what a table needs: how many components were present, so a
partial aggregate is shown as "partial 2/6" and never passes for the paper's number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pretrainzero.eval import aggregate as _defs

MATH_BENCHMARKS: tuple[str, ...] = tuple(_defs.MATH_AVG)
# Display order of the general benchmarks (the paper's headline order); membership comes from eval.
GENERAL_BENCHMARKS: tuple[str, ...] = ("mmlu_pro", "supergpqa", "bbeh")
if set(GENERAL_BENCHMARKS) != set(_defs.OVERALL) - {"math_avg"}:  # pragma: no cover - guards a drift
    raise ImportError(f"Overall AVG members changed in pretrainzero.eval.aggregate: {_defs.OVERALL}")
# Column order of the leaderboard tables (general first, then math).
PAPER_BENCHMARKS: tuple[str, ...] = GENERAL_BENCHMARKS + MATH_BENCHMARKS

AGGREGATE_NAMES: dict[str, str] = {"math_avg": "Math AVG", "overall_avg": "Overall AVG"}


def display_name(key: str) -> str:
    """Human column name of a benchmark (its module's ``display``) or aggregate; unknown keys as they are."""
    from pretrainzero.eval.benchmarks import BENCHMARKS

    spec = BENCHMARKS.get(key)
    return spec.display if spec is not None else AGGREGATE_NAMES.get(key, key)


@dataclass(frozen=True)
class Aggregate:
    """A mean over the components that were present; ``partial`` when some were missing."""

    value: float | None
    partial: bool
    n_present: int
    n_required: int
    detail: str = ""  # what is missing, when a count alone would mislead (Overall AVG)

    @property
    def label(self) -> str:
        if not self.partial:
            return ""
        return f"partial: {self.detail}" if self.detail else f"partial {self.n_present}/{self.n_required}"


def math_avg(scores: Mapping[str, float]) -> Aggregate:
    """Math AVG over whatever of the six math benchmarks ``scores`` holds (any consistent unit)."""
    value, partial = _defs.math_avg(scores)
    present = sum(scores.get(b) is not None for b in MATH_BENCHMARKS)
    return Aggregate(value, partial, present, len(MATH_BENCHMARKS))


def overall_avg(scores: Mapping[str, float], math: Aggregate | None = None) -> Aggregate:
    """Overall AVG = mean(Math AVG, SuperGPQA, BBEH, MMLU-Pro); partial if any part is missing or partial.

    ``math`` may be given to use a published Math AVG when per-benchmark math scores are not.
    """
    math = math if math is not None else math_avg(scores)
    value, partial = _defs.overall_avg({**scores, "math_avg": math.value})
    n_general = sum(scores.get(b) is not None for b in GENERAL_BENCHMARKS)
    n_full = n_general + (1 if math.value is not None and not math.partial else 0)
    detail = f"math {math.n_present}/{math.n_required}, general {n_general}/{len(GENERAL_BENCHMARKS)}"
    return Aggregate(value, partial or math.partial, n_full, len(GENERAL_BENCHMARKS) + 1, detail)
