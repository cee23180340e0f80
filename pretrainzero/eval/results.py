"""Results records (one per model × benchmark × protocol version) and per-sample JSONL.

This module builds a :class:`~pretrainzero.record.ResultsRecord` (the typed contract the
leaderboard reads) from per-generation rows, validated before anything is written, and writes
both files atomically (temp file in the same directory, then ``os.replace``), so a reader never
sees half a record.

Scores are fractions in [0, 1]. A benchmark scored as mean@k averages each question's k verdicts
first; stderr is then taken across questions (the question is the unit of sampling).

GPQA's authors ask that its questions not be republished in plain text, and a model's response
can quote them; for a restricted benchmark (``BenchmarkSpec.restricted``) the samples file keeps
only response hashes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..fileio import atomic_write_text
from ..record import SCHEMA_VERSION, ResultsRecord, parse_record
from ..record.lmeval import results_path, to_lmeval
from .registry import registry


@dataclass(frozen=True)
class SampleRow:
    """One scored generation (a line of the samples JSONL)."""

    sample_id: str
    k_index: int
    category: str | None
    prompt_hash: str
    response: str | None
    response_sha256: str
    extracted: str | None
    answer: str
    score: float
    missed: bool
    truncated: bool
    finish_reason: str
    n_tokens: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_row(*, sample_id: str, k_index: int, category: str | None, prompt_hash: str, response: str,
             extracted: str | None, answer: str, score: float, missed: bool, finish_reason: str, n_tokens: int,
             restricted: bool) -> SampleRow:
    return SampleRow(
        sample_id=sample_id, k_index=k_index, category=category, prompt_hash=prompt_hash,
        response=None if restricted else response,
        response_sha256=hashlib.sha256(response.encode()).hexdigest(),
        extracted=extracted, answer=answer, score=float(score), missed=bool(missed),
        truncated=finish_reason == "length", finish_reason=finish_reason, n_tokens=int(n_tokens),
    )


def _mean_stderr(xs: Sequence[float]) -> tuple[float, float]:
    n = len(xs)
    mean = sum(xs) / n
    if n < 2:
        return mean, 0.0
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    return mean, math.sqrt(var / n)


def compute_metrics(rows: Sequence[SampleRow]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``(metrics, per_category)`` from scored rows: mean@k score, stderr, miss and truncation rates."""
    if not rows:
        raise ValueError("no scored samples")
    by_q: dict[str, list[SampleRow]] = {}
    for r in rows:
        by_q.setdefault(r.sample_id, []).append(r)
    per_q = {q: sum(r.score for r in rs) / len(rs) for q, rs in by_q.items()}
    score, stderr = _mean_stderr(list(per_q.values()))
    # Misses counted wrong, i.e. without the protocol's random-letter fallback (reported alongside).
    strict = [sum(r.score * (not r.missed) for r in rs) / len(rs) for rs in by_q.values()]
    ks = {len(rs) for rs in by_q.values()}
    metrics = {
        "score": score,
        "stderr": stderr,
        "miss_rate": sum(r.missed for r in rows) / len(rows),
        "truncation_rate": sum(r.truncated for r in rows) / len(rows),
        "score_misses_wrong": sum(strict) / len(strict),
        "n_questions": len(by_q),
        "n_generations": len(rows),
        "k": max(ks),
        "mean_new_tokens": sum(r.n_tokens for r in rows) / len(rows),
    }
    cats: dict[str, list[float]] = {}
    for q, rs in by_q.items():
        if rs[0].category is not None:
            cats.setdefault(rs[0].category, []).append(per_q[q])
    per_category = {c: {"score": sum(v) / len(v), "n": len(v)} for c, v in sorted(cats.items())}
    return metrics, per_category


def git_commit(repo: str | os.PathLike[str] | None = None) -> str | None:
    """HEAD of the package's repository, with ``-dirty`` when tracked package files differ from it."""
    root = Path(repo) if repo else Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "diff", "--quiet", "HEAD", "--", "pretrainzero"],
                               capture_output=True, timeout=10, check=False).returncode != 0
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "") if head else None


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_record(*, row_id: str, model: Mapping[str, Any], benchmark: str, subset: Mapping[str, Any] | None,
                 protocol: Mapping[str, Any], config: Mapping[str, Any], dataset: Mapping[str, Any],
                 decoding: Mapping[str, Any], engine: Mapping[str, Any], metrics: Mapping[str, Any],
                 per_category: Mapping[str, Any], samples_file: str | None, notes: str | None = None,
                 created_at: str | None = None) -> ResultsRecord:
    """Assemble a record and check it, against the registries too (an unknown protocol version, a row
    count or packaged sha256 that is not the benchmark's); :class:`~pretrainzero.record.RecordError`
    names what is wrong, before anything is written."""
    from .. import __version__

    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": row_id,
        "model": dict(model),
        "benchmark": benchmark,
        "subset": dict(subset) if subset else None,
        "protocol": dict(protocol),
        "config": dict(config),
        "dataset": dict(dataset),
        "decoding": dict(decoding),
        "engine": dict(engine),
        "versions": {"pretrainzero": __version__, "python": platform.python_version()},
        "git_commit": git_commit(),
        "metrics": dict(metrics),
        "per_category": dict(per_category),
        "samples_file": samples_file,
        "created_at": created_at or utc_now(),
        "source": "measured",
    }
    if notes:
        record["notes"] = notes
    return parse_record(record, registry())


def write_results(record: ResultsRecord, rows: Sequence[SampleRow], out_dir: str | os.PathLike[str]) -> Path:
    """Write ``<out>/<id>.json`` and ``<out>/<samples_file>``; samples first, so a record never
    points at a missing file. Returns the record's path."""
    out = Path(out_dir)
    if record.samples_file:
        atomic_write_text(out / record.samples_file,
                          "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in rows))
    path = out / f"{record.id}.json"
    atomic_write_text(path, json.dumps(record.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return path


def n_shot(protocol: Any) -> int:
    """Solved examples shown before each question (lm-eval's ``n-shot``): MMLU-Pro official's
    ``n_shots``, SuperGPQA's five-shot mode, else zero."""
    return int(getattr(protocol, "n_shots", 0) or (5 if getattr(protocol, "five_shot", False) else 0))


def chat_template_sha256(backend: Any, uses_chat_template: bool) -> str | None:
    """sha256 of the chat template a local backend renders prompts with (lm-eval's ``chat_template_sha``);
    None when the protocol sends raw text or the template is the server's (OpenAI-compatible endpoints)."""
    template = getattr(getattr(backend, "tok", None), "chat_template", None)
    if not uses_chat_template or not isinstance(template, str):
        return None
    return hashlib.sha256(template.encode("utf-8")).hexdigest()


def write_lmeval(records: Sequence[ResultsRecord], out_dir: str | os.PathLike[str], shots: int = 0) -> Path:
    """Write the run's records as lm-eval's results file, ``<out>/lm-eval/<model>/results_<date>.json``
    (see :mod:`pretrainzero.record.lmeval`); task hashes come from the samples files written next to them."""
    out = Path(out_dir)
    samples = {r.benchmark: read_samples(out / r.samples_file) for r in records
               if r.samples_file and (out / r.samples_file).is_file()}
    data = to_lmeval(records, n_shot={r.benchmark: shots for r in records}, samples=samples)
    path = results_path(out, records)
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def read_samples(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
