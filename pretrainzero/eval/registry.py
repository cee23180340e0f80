"""The eval harness's protocols and benchmarks as facts a results record is checked against.

:func:`registry` gives :class:`pretrainzero.record.Registry` (protocol versions and coverage,
official row counts, packaged dataset sha256s) for ``pretrainzero.record.schema.REGISTRY_RULES``:
the runner checks every record it writes with it, and ``leaderboard submit`` every record it adds.
"""

from __future__ import annotations

from functools import cache

from ..record import BenchmarkFacts, ProtocolFacts, Registry
from .benchmarks import BENCHMARKS, BenchmarkDataError, get_spec, load_benchmark
from .protocols import PROTOCOLS, get_protocol


@cache
def packaged_sha(benchmark: str) -> tuple[str, str] | None:
    """(source, sha256) of the installed packaged copy of ``benchmark``, or None."""
    if not get_spec(benchmark).packaged:
        return None
    try:
        bench = load_benchmark(benchmark, data_dir="/nonexistent-data-dir", allow_hub=False)
    except BenchmarkDataError:
        return None
    return bench.source, bench.sha256


@cache
def registry() -> Registry:
    """Every protocol and benchmark of the installed harness (the packaged sha256s computed on demand)."""

    def bench(name: str) -> BenchmarkFacts:
        return BenchmarkFacts(expected_rows=get_spec(name).expected_rows, packaged=lambda: packaged_sha(name))

    def protocol(pid: str) -> ProtocolFacts:
        p = get_protocol(pid)
        return ProtocolFacts(versions=tuple(p.versions), benchmarks=tuple(b for b in BENCHMARKS if p.supports(b)))

    return Registry(protocols={pid: protocol(pid) for pid in PROTOCOLS},
                    benchmarks={name: bench(name) for name in BENCHMARKS})
