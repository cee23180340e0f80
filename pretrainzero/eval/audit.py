r"""Grader audit: does a protocol's extract-and-grade pipeline accept its own gold, and only that?

For every item of a benchmark three answers go through the protocol's real code path:

* **boxed** — the gold written the way a model following the protocol writes its final answer
  (:meth:`Protocol.model_response`, e.g. ``... the final answer is $\boxed{G}$.``), then
  extracted and graded. Tests the extractor and the grader together.
* **verbatim** — the gold string itself as the extracted answer, graded against the gold.
  Tests that the grader accepts its own gold (normalisation, parsing).
* **foreign** — the boxed response of *another* item's gold (the next item whose normalised gold
  differs), graded against this item's gold. Must be wrong; an accept is a false accept.

The self-grade rate is the share of items whose boxed and verbatim answers are both graded
correct without a miss; the false-accept rate is the share whose foreign answer is graded
correct. A correct pipeline has 100% and 0%. Each failing item is listed by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .benchmarks import LoadedBenchmark, Sample
from .grade import normalize_answer
from .protocols import Protocol

CHECKS = ("boxed", "verbatim", "foreign")
_AUDIT_SEED = 0


@dataclass(frozen=True)
class AuditFailure:
    """One item that failed one check: what was graded and what came out."""

    sample_id: str
    check: str  # "boxed" | "verbatim" | "foreign"
    gold: str
    answer: str  # the answer text that went in (the other item's gold for "foreign")
    extracted: str | None

    def line(self) -> str:
        verdict = "accepted" if self.check == "foreign" else "rejected"
        return (f"{self.sample_id} [{self.check}] gold {self.gold!r}: {verdict} {self.answer!r}"
                f" (extracted {self.extracted!r})")


@dataclass(frozen=True)
class AuditReport:
    benchmark: str
    protocol: str  # "pz-0shot-boxed v2"
    n: int
    n_self_ok: int
    n_false_accepts: int
    n_no_foreign: int  # items for which every other gold normalises to the same string
    failures: tuple[AuditFailure, ...]

    @property
    def self_grade_rate(self) -> float:
        return self.n_self_ok / self.n if self.n else 0.0

    @property
    def false_accept_rate(self) -> float:
        n = self.n - self.n_no_foreign
        return self.n_false_accepts / n if n else 0.0

    @property
    def ok(self) -> bool:
        return self.n_self_ok == self.n and self.n_false_accepts == 0

    def summary(self) -> str:
        return (f"{self.benchmark:<14} {self.protocol:<22} n={self.n:<6} self-grade {100 * self.self_grade_rate:6.2f}%"
                f"  false-accept {100 * self.false_accept_rate:5.2f}%  ({len(self.failures)} failing checks)")


def _gold_key(sample: Sample) -> str:
    return sample.answer if sample.choices is not None else normalize_answer(sample.answer)


def foreign_index(samples: Sequence[Sample]) -> list[int | None]:
    """For item i, the next item (cyclically) whose normalised gold differs from i's, or None."""
    keys = [_gold_key(s) for s in samples]
    n = len(samples)
    out: list[int | None] = []
    for i in range(n):
        j = next(((i + d) % n for d in range(1, n) if keys[(i + d) % n] != keys[i]), None)
        out.append(j)
    return out


def audit_benchmark(bench: LoadedBenchmark, protocol: Protocol, *, limit: int | None = None,
                    workers: int | None = None) -> AuditReport:
    """Run the three checks over the first ``limit`` items (all by default) of ``bench``."""
    samples = list(bench.samples[:limit] if limit else bench.samples)
    others = foreign_index(samples)
    batch_answers: list[str] = []
    batch_extracted: list[str | None] = []
    batch_samples: list[Sample] = []
    slots: list[tuple[int, str]] = []
    for i, s in enumerate(samples):
        candidates = [("boxed", s.answer, protocol.extract(protocol.model_response(s.answer), s)),
                      ("verbatim", s.answer, s.answer)]
        j = others[i]
        if j is not None:
            other = samples[j].answer
            candidates.append(("foreign", other, protocol.extract(protocol.model_response(other), s)))
        for check, answer, extracted in candidates:
            slots.append((i, check))
            batch_answers.append(answer)
            batch_extracted.append(extracted)
            batch_samples.append(s)
    verdicts = protocol.score_batch(batch_extracted, batch_samples, _AUDIT_SEED, workers=workers)
    self_ok = [True] * len(samples)
    false_accepts = 0
    failures: list[AuditFailure] = []
    for (i, check), answer, extracted, (score, missed) in zip(slots, batch_answers, batch_extracted, verdicts,
                                                              strict=True):
        correct = score == 1.0 and not missed
        failed = correct if check == "foreign" else not correct
        if not failed:
            continue
        if check == "foreign":
            false_accepts += 1
        else:
            self_ok[i] = False
        failures.append(AuditFailure(samples[i].id, check, samples[i].answer, answer, extracted))
    return AuditReport(
        benchmark=bench.name, protocol=f"{protocol.id} v{protocol.version}", n=len(samples),
        n_self_ok=sum(self_ok), n_false_accepts=false_accepts, n_no_foreign=sum(j is None for j in others),
        failures=tuple(failures),
    )
