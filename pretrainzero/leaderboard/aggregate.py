"""The paper's aggregates, with partial sets labelled instead of silently averaged.

Math AVG = unweighted mean of MATH-500, OlympiadBench, Minerva, GSM8K, AMC23, AIME24.
Overall AVG = unweighted mean of {Math AVG, SuperGPQA, BBEH, MMLU-Pro} (math counted once).
Both were checked arithmetically against every row of the paper's Tables 1-4 (see
``leaderboards/reference``). When components are missing the mean of those present is returned
with ``partial=True`` and the count, so a renderer can never show it as the paper's number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MATH_BENCHMARKS: tuple[str, ...] = ("math500", "olympiadbench", "minerva", "gsm8k", "amc23", "aime24")
GENERAL_BENCHMARKS: tuple[str, ...] = ("mmlu_pro", "supergpqa", "bbeh")
# Column order of the paper's tables (general first, then math).
PAPER_BENCHMARKS: tuple[str, ...] = GENERAL_BENCHMARKS + MATH_BENCHMARKS

DISPLAY_NAMES: dict[str, str] = {
    "mmlu_pro": "MMLU-Pro",
    "supergpqa": "SuperGPQA",
    "bbeh": "BBEH",
    "math500": "MATH-500",
    "olympiadbench": "Olympiad",
    "minerva": "Minerva",
    "gsm8k": "GSM8K",
    "amc23": "AMC23",
    "aime24": "AIME24",
    "aime25": "AIME25",
    "mmlu": "MMLU",
    "gpqa_diamond": "GPQA-D",
    "math_avg": "Math AVG",
    "overall_avg": "Overall AVG",
}


def display_name(key: str) -> str:
    """Human column name for a benchmark or aggregate key (unknown keys are shown as they are)."""
    return DISPLAY_NAMES.get(key, key)


@dataclass(frozen=True)
class Aggregate:
    """A mean over the components that were present; ``partial`` when some were missing."""

    value: float | None
    n_present: int
    n_required: int
    detail: str = ""  # what is missing, when a count alone would mislead (Overall AVG)

    @property
    def partial(self) -> bool:
        return self.n_present < self.n_required

    @property
    def label(self) -> str:
        if not self.partial:
            return ""
        return f"partial: {self.detail}" if self.detail else f"partial {self.n_present}/{self.n_required}"


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def math_avg(scores: Mapping[str, float]) -> Aggregate:
    """Math AVG over whatever of the six math benchmarks ``scores`` holds (any consistent unit)."""
    present = [scores[b] for b in MATH_BENCHMARKS if scores.get(b) is not None]
    return Aggregate(_mean(present), len(present), len(MATH_BENCHMARKS))


def overall_avg(scores: Mapping[str, float], math: Aggregate | None = None) -> Aggregate:
    """Overall AVG = mean(Math AVG, SuperGPQA, BBEH, MMLU-Pro); partial if any part is partial.

    ``math`` may be given to use a published Math AVG when the per-benchmark math scores are not.
    Components are counted so that a partial Math AVG makes the Overall partial too:
    ``n_required`` is 4 (parts) and a partial Math AVG counts as not present.
    """
    math = math if math is not None else math_avg(scores)
    parts = [scores[b] for b in GENERAL_BENCHMARKS if scores.get(b) is not None]
    n_general = len(parts)
    n_full = n_general + (0 if math.partial or math.value is None else 1)
    if math.value is not None:
        parts.append(math.value)
    detail = f"math {math.n_present}/{math.n_required}, general {n_general}/{len(GENERAL_BENCHMARKS)}"
    return Aggregate(_mean(parts), n_full, len(GENERAL_BENCHMARKS) + 1, detail)
