"""Aggregates: mean@k, mean ± standard error, and the paper's Math AVG and Overall AVG.

Scores are fractions in [0, 1] or percentages — the functions do not care, but never mix them.
Math AVG is the unweighted mean of six benchmark scores and Overall AVG the unweighted mean of
{Math AVG, SuperGPQA, BBEH, MMLU-Pro} (checked against every row of the paper's Tables 1–2).
When members are missing the value is computed over those present and flagged ``partial`` so a
leaderboard can label it; with none present the value is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

MATH_AVG = ("math500", "olympiadbench", "minerva", "gsm8k", "amc23", "aime24")
OVERALL = ("math_avg", "supergpqa", "bbeh", "mmlu_pro")


def _avg_over(members: Sequence[str], scores: Mapping[str, float | None]) -> tuple[float | None, bool]:
    present = [float(v) for m in members if (v := scores.get(m)) is not None]
    if not present:
        return None, True
    return sum(present) / len(present), len(present) < len(members)


def math_avg(scores: Mapping[str, float | None]) -> tuple[float | None, bool]:
    """(Math AVG, partial) over :data:`MATH_AVG` (AIME25 is not a member: the paper omits it)."""
    return _avg_over(MATH_AVG, scores)


def overall_avg(scores: Mapping[str, float | None]) -> tuple[float | None, bool]:
    """(Overall AVG, partial). Uses ``scores["math_avg"]`` if given, else computes it; a partial
    Math AVG makes the Overall AVG partial too."""
    values = dict(scores)
    math_partial = False
    if values.get("math_avg") is None:
        values["math_avg"], math_partial = math_avg(scores)
    value, partial = _avg_over(OVERALL, values)
    return value, partial or (values.get("math_avg") is not None and math_partial)


def mean_stderr(values: Iterable[float]) -> tuple[float, float]:
    """(mean, standard error of the mean) with the sample standard deviation (n − 1), as lm-eval."""
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        raise ValueError("mean_stderr of no values")
    mean = sum(xs) / n
    if n == 1:
        return mean, 0.0
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    return mean, math.sqrt(var / n)


def mean_at_k(per_question: Sequence[Sequence[float]]) -> tuple[float, float]:
    """mean@k: average over questions of the mean over that question's k samples, with stderr
    across questions (the question is the unit of sampling)."""
    if not per_question or any(len(q) == 0 for q in per_question):
        raise ValueError("mean_at_k needs at least one score per question")
    return mean_stderr(sum(q) / len(q) for q in per_question)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator 1 − C(n−c, k)/C(n, k) for one question (n samples, c correct)."""
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)
