"""What ``leaderboard submit`` checks beyond the record's own rules.

:func:`registry` gathers the facts of this package that a record is checked against (protocol
versions and coverage, official row counts, packaged dataset sha256s) from the eval registries,
for :data:`pretrainzero.record.schema.REGISTRY_RULES`. A model given as a path exists only on the
submitter's machine unless the row is marked so; that is submission policy, not record validity
(the eval harness writes records of local checkpoints all the time).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pretrainzero.record import BenchmarkFacts, ProtocolFacts, Registry, ResultsRecord


@cache
def _packaged_sha(benchmark: str) -> tuple[str, str] | None:
    """(source, sha256) of the installed packaged copy of ``benchmark``, or None."""
    from pretrainzero.eval.benchmarks import BenchmarkDataError, get_spec, load_benchmark

    if not get_spec(benchmark).packaged:
        return None
    try:
        bench = load_benchmark(benchmark, data_dir="/nonexistent-data-dir", allow_hub=False)
    except BenchmarkDataError:
        return None
    return bench.source, bench.sha256


@cache
def registry() -> Registry:
    """The protocols and benchmarks of the installed eval harness, as record-checking facts."""
    from pretrainzero.eval.benchmarks import BENCHMARKS, get_spec
    from pretrainzero.eval.protocols import PROTOCOLS, get_protocol

    def bench(name: str) -> BenchmarkFacts:
        return BenchmarkFacts(expected_rows=get_spec(name).expected_rows, packaged=lambda: _packaged_sha(name))

    def protocol(pid: str) -> ProtocolFacts:
        p = get_protocol(pid)
        return ProtocolFacts(versions=tuple(p.versions), benchmarks=tuple(b for b in BENCHMARKS if p.supports(b)))

    return Registry(protocols={pid: protocol(pid) for pid in PROTOCOLS},
                    benchmarks={name: bench(name) for name in BENCHMARKS})


def is_local_path(source: str) -> bool:
    """A model source that names a folder on some machine (absolute, ``./``, ``~``) rather than a hub id or alias."""
    return source.startswith(("/", "./", "../", "~", "\\")) or (len(source) > 2 and source[1] == ":")


def submission_problems(record: ResultsRecord) -> list[str]:
    """Every way ``record`` contradicts the registries, or names a model nobody else can load."""
    problems = record.problems(registry())
    if is_local_path(record.model.source) and not record.model.local_only:
        problems.append(f"model.source: {record.model.source!r} is a path on the submitter's machine, so nobody "
                        "else can reproduce the row; give a hub id, or submit with --local-model to mark it local-only")
    return problems


def local_model_problem(record: ResultsRecord) -> str | None:
    """Why ``reproduce`` cannot load this record's model here, or None."""
    source = record.model.source
    if is_local_path(source) and not Path(source).expanduser().exists():
        mark = " (the row is marked local-only)" if record.model.local_only else ""
        return f"model {source!r} exists only on the submitter's machine{mark}; {record.id} cannot be reproduced here"
    return None
