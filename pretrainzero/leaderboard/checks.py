"""What ``leaderboard submit`` checks beyond the schema: the record against the registries.

The schema says a record is well formed; these checks say it is possible. A protocol id and
version, a benchmark id, the protocol's coverage of the benchmark, the official row count and,
for a packaged dataset copy, its sha256 are facts of this package, not claims of the submitter.
A model given as a path exists only on the submitter's machine unless it is marked so.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any


@cache
def _packaged_sha(benchmark: str) -> tuple[str, str] | None:
    """(source, sha256) of the installed packaged copy of ``benchmark``, or None."""
    from pretrainzero.eval.benchmarks import BENCHMARKS, BenchmarkDataError, load_benchmark

    if not BENCHMARKS[benchmark].packaged:
        return None
    try:
        bench = load_benchmark(benchmark, data_dir="/nonexistent-data-dir", allow_hub=False)
    except BenchmarkDataError:
        return None
    return bench.source, bench.sha256


def is_local_path(source: str) -> bool:
    """A model source that names a folder on some machine (absolute, ``./``, ``~``) rather than a hub id or alias."""
    return source.startswith(("/", "./", "../", "~", "\\")) or (len(source) > 2 and source[1] == ":")


def registry_problems(record: Mapping[str, Any]) -> list[str]:
    """Every way ``record`` (schema-valid) contradicts the protocol and benchmark registries."""
    from pretrainzero.eval.benchmarks import BENCHMARKS
    from pretrainzero.eval.protocols import PROTOCOLS

    problems: list[str] = []
    pid, version = record["protocol"]["id"], record["protocol"]["version"]
    bench = record["benchmark"]
    protocol = PROTOCOLS.get(pid)
    if protocol is None:
        problems.append(f"protocol.id: unknown protocol {pid!r} (known: {', '.join(sorted(PROTOCOLS))})")
    elif version not in protocol.versions:
        problems.append(f"protocol.version: {pid} has no version {version} (versions: "
                        f"{', '.join(map(str, protocol.versions))})")
    spec = BENCHMARKS.get(bench)
    if spec is None:
        problems.append(f"benchmark: unknown benchmark {bench!r} (known: {', '.join(sorted(BENCHMARKS))})")
    elif protocol is not None and not protocol.supports(bench):
        problems.append(f"benchmark: protocol {pid} does not cover {bench} "
                        f"(it covers {', '.join(protocol.benchmarks)})")
    if spec is not None:
        ds = record["dataset"]
        partial_file = bool(record["config"].get("allow_partial"))
        if spec.expected_rows is not None and ds["n_total"] != spec.expected_rows and not partial_file:
            problems.append(f"dataset.n_total: {bench} has {spec.expected_rows} items, the record says {ds['n_total']} "
                            "(a partial or custom file must be run with --allow-partial)")
        if record["subset"] is None and ds["n_evaluated"] != ds["n_total"]:
            problems.append(f"subset: null (a full run) but {ds['n_evaluated']} of {ds['n_total']} items evaluated")
        if record["subset"] is None and partial_file:
            problems.append("subset: null but the run used a partial/custom file (--allow-partial)")
        known = _packaged_sha(bench)
        if known is not None and ds["source"] == known[0] and ds["sha256"] != known[1]:
            problems.append(f"dataset.sha256: {ds['sha256']!r} is not the sha256 of {known[0]} ({known[1]})")
    model = record["model"]
    if is_local_path(str(model["source"])) and not model.get("local_only"):
        problems.append(f"model.source: {model['source']!r} is a path on the submitter's machine, so nobody else can "
                        "reproduce the row; give a hub id, or submit with --local-model to mark it local-only")
    return problems


def local_model_problem(record: Mapping[str, Any]) -> str | None:
    """Why ``reproduce`` cannot load this record's model here, or None."""
    source = str(record["model"]["source"])
    if is_local_path(source) and not Path(source).expanduser().exists():
        mark = " (the row is marked local-only)" if record["model"].get("local_only") else ""
        return (f"model {source!r} exists only on the submitter's machine{mark}; "
                f"{record['id']} cannot be reproduced here")
    return None
