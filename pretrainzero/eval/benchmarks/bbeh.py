"""BIG-Bench Extra Hard (General-Reasoner's copy MrLight/bbeh-eval: 4,520 items over 23 tasks).

Free-text answers, graded with BBEH's own fuzzy match (kind ``text``). The paper and
General-Reasoner report the micro average over all items (the record's ``score``); BBEH's official
headline is the adjusted harmonic mean over the 23 tasks (:func:`harmonic_mean`, recorded as
``metrics.harmonic_mean``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .convert import each_row, first, text
from .spec import BenchmarkSpec, RowFile, Sample


def harmonic_mean(task_scores: Mapping[str, float]) -> float | None:
    """BBEH's headline: the harmonic mean over tasks of per-task accuracy in percent, each + 1.

    The +1 is BBEH's guard against a task at 0 (a harmonic mean with a zero is undefined): "we add
    1 to all accuracy numbers before computing the harmonic mean" -- the "adjusted harmonic mean"
    of Kazemi et al., BIG-Bench Extra Hard (arXiv:2502.19187, §4), whose leaderboard.md (the
    "BBEH" column of google-deepmind/bbeh) is sorted by it. The paper subtracts nothing afterwards,
    so neither do we (a version of this function took 1 off the result). The repository's
    bbeh/evaluate.py grades single answers only; it has no aggregation code to check against
    (checked against its current snapshot), and alphaXiv's summary of the paper describes the same
    rule ("adding 1 to all individual task accuracy numbers before calculation").
    Scores are fractions in [0, 1]; the result is a fraction too; ``None`` with no tasks.
    """
    if not task_scores:
        return None
    shifted = [100.0 * float(v) + 1.0 for v in task_scores.values()]
    return len(shifted) / sum(1.0 / x for x in shifted) / 100.0


def _metrics(per_task: Mapping[str, float]) -> dict[str, float | None]:
    return {"harmonic_mean": harmonic_mean(per_task)}


def _convert(parts: Sequence[RowFile]) -> list[Sample]:
    out: list[Sample] = []
    seen: dict[str, int] = {}
    for where, r in each_row(parts):
        task = str(first(r, ("task",), where))
        n = seen.get(task, 0)
        seen[task] = n + 1
        out.append(Sample(id=f"{task}/{n}", question=str(first(r, ("question", "input"), where)),
                          answer=text(first(r, ("answer", "target"), where)), category=task, kind="text"))
    return out


BENCHMARK = BenchmarkSpec(
    name="bbeh", display="BBEH", title="BIG-Bench Extra Hard (General-Reasoner copy)", kind="text",
    convert=_convert, category_field="task", hf_id="MrLight/bbeh-eval", hf_config=None, split="train",
    expected_rows=4520, local_dirs=("bbeh-eval",),
    local_files=("train-*.parquet", "data/train-*.parquet", "train.jsonl", "test.jsonl", "bbeh.jsonl"),
    extra_metrics=_metrics,
)
