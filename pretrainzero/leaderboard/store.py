"""The results store: every ``*.json`` record under ``leaderboards/results/`` (but ``lm-eval/``), validated.

Loading never drops a record. An unreadable or invalid file raises ``InvalidRecordError`` naming
the file and every bad field; two files with the same row id raise ``DuplicateRecordError``.
Writes are atomic (temp file in the same directory, then ``os.replace``) so a crash never leaves
half a record for the next render to trip over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pretrainzero.fileio import atomic_copy, atomic_write_text
from pretrainzero.record import RecordError, ResultsRecord, parse_record
from pretrainzero.record.lmeval import LMEVAL_DIR

SAMPLES_DIR = "samples"


class InvalidRecordError(ValueError):
    """A results file that is not valid JSON or not a valid :class:`~pretrainzero.record.ResultsRecord`."""


class DuplicateRecordError(ValueError):
    """Two results files with the same row id."""


@dataclass(frozen=True)
class Record:
    """One validated results record and the file it came from."""

    path: Path
    record: ResultsRecord

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def model(self) -> str:
        return self.record.model.name

    @property
    def benchmark(self) -> str:
        return self.record.benchmark

    @property
    def protocol(self) -> tuple[str, int]:
        return self.record.protocol.id, self.record.protocol.version

    @property
    def score(self) -> float:
        return self.record.metrics.score

    @property
    def stderr(self) -> float | None:
        return self.record.metrics.stderr

    @property
    def subset_label(self) -> str | None:
        return self.record.subset_label

    @property
    def deviations(self) -> tuple[str, ...]:
        """How the run departed from its protocol (e.g. a reduced token budget), as the runner recorded it."""
        return tuple(self.record.config.protocol_deviations)


def read_record(path: Path) -> Record:
    """Parse and validate one results file; raise ``InvalidRecordError`` naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRecordError(f"{path}: not a readable JSON file ({exc})") from exc
    try:
        return Record(Path(path), parse_record(data))
    except RecordError as exc:
        raise InvalidRecordError(f"{path}: invalid results record:\n  " + "\n  ".join(exc.problems)) from None


def record_files(results_dir: Path) -> list[Path]:
    """Every ``*.json`` under ``results_dir``, recursively, except inside ``lm-eval/`` folders.

    The one exception is the lm-evaluation-harness copy of a run that ``pretrainzero eval`` writes
    next to its records (``<out>/lm-eval/<model>/results_<date>.json``, another schema). Samples
    are ``.jsonl`` and in-flight temp files end in ``.tmp``, so neither matches. Anything else is
    a record and must validate: nothing can sit in results/ without rendering or failing loudly.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    return sorted(p for p in results_dir.rglob("*.json") if LMEVAL_DIR not in p.relative_to(results_dir).parts[:-1])


def load_records(results_dir: Path) -> list[Record]:
    """Load every record under ``results_dir``, sorted by id; fail on any invalid file or duplicate id."""
    records: list[Record] = []
    seen: dict[str, Path] = {}
    for path in record_files(results_dir):
        rec = read_record(path)
        if rec.id in seen:
            raise DuplicateRecordError(f"duplicate row id {rec.id!r} in {seen[rec.id]} and {path}")
        seen[rec.id] = path
        records.append(rec)
    return sorted(records, key=lambda r: r.id)


def find_record(results_dir: Path, rid: str) -> Record:
    """The record with row id ``rid``; ``KeyError`` listing close ids when absent."""
    records = load_records(results_dir)
    for rec in records:
        if rec.id == rid:
            return rec
    close = [r.id for r in records if rid.split("__")[0] in r.id][:5]
    hint = f"; similar: {', '.join(close)}" if close else "; see `pretrainzero leaderboard list`"
    raise KeyError(f"no row {rid!r} under {results_dir}{hint}")


@dataclass(frozen=True)
class Submitted:
    """Where ``submit`` put a record, and what happened to its samples."""

    path: Path
    samples_path: Path | None
    note: str = ""  # e.g. the record named a samples file that was not found


def submit(src: Path, results_dir: Path, samples: Path | None = None, replace: bool = False,
           local_model: bool = False) -> Submitted:
    """Validate ``src`` and copy it (and its samples file, if any) into ``results_dir``.

    The record lands at ``results_dir/<id>.json`` and its samples at
    ``results_dir/samples/<id>.jsonl`` (``samples_file`` is rewritten to that relative path).
    ``samples`` defaults to the record's own ``samples_file`` resolved next to ``src``; when that
    file does not exist the copy gets ``samples_file: null`` (a dangling path would promise
    per-sample data that is not there) and the returned note says so. A duplicate id is refused
    unless ``replace``; with ``replace`` the old files are removed after the new ones are in.

    The record must also agree with the protocol and benchmark registries
    (:func:`~pretrainzero.leaderboard.checks.submission_problems`); a model given as a local path is
    refused unless ``local_model``, which marks the row ``model.local_only``.
    """
    from .checks import submission_problems

    rec = read_record(src)
    if local_model:
        marked = rec.record.model.model_copy(update={"local_only": True})
        rec = Record(rec.path, rec.record.model_copy(update={"model": marked}))
    problems = submission_problems(rec.record)
    if problems:
        raise InvalidRecordError(f"{src}: cannot be submitted: " + "; ".join(problems))
    results_dir = Path(results_dir)
    existing = {r.id: r for r in load_records(results_dir)}
    if rec.id in existing and not replace:
        raise DuplicateRecordError(
            f"row {rec.id!r} already exists ({existing[rec.id].path}); pass --replace to overwrite it"
        )
    data = rec.record.to_dict()
    note = ""
    if samples is None and data.get("samples_file"):
        candidate = Path(src).parent / data["samples_file"]
        if candidate.is_file():
            samples = candidate
        else:
            note = f"samples file {candidate} not found: stored with samples_file null"
            data["samples_file"] = None
    samples_dst = None
    if samples is not None:
        if not Path(samples).is_file():
            raise FileNotFoundError(f"samples file {samples} does not exist")
        rel = f"{SAMPLES_DIR}/{rec.id}.jsonl"
        samples_dst = results_dir / rel
        atomic_copy(Path(samples), samples_dst)
        data["samples_file"] = rel
    dst = results_dir / f"{rec.id}.json"
    atomic_write_text(dst, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    old = existing.get(rec.id)
    if old is not None:
        old_samples = old.record.samples_file
        if old_samples and (old.path.parent / old_samples).resolve() != (samples_dst or dst).resolve():
            (old.path.parent / old_samples).unlink(missing_ok=True)
        if old.path.resolve() != dst.resolve():
            old.path.unlink()
    return Submitted(dst, samples_dst, note)
