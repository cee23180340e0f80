"""On-disk paragraph index: kept paragraphs in one UTF-8 blob plus fixed-width numpy arrays.

Layout of one index folder (``$PRETRAINZERO_CACHE/index/<name>/<definition>-<source>/``):

* ``text.bin``: the kept paragraphs' UTF-8 bytes back to back; ``titles.bin`` likewise for titles;
* ``offsets.i64`` (n + 1 byte offsets into text.bin), ``docs.i64`` (document number),
  ``pieces.i32`` (piece number inside the document), ``titles.i64`` (n start/end pairs into
  titles.bin, -1 for no title): raw little-endian arrays opened with ``numpy.memmap``;
* ``meta.json``: spec, cache key, counts, :class:`CorpusStats` and every file's size and CRC-32,
  written last.

Opening an index checks every file's size and CRC-32 against ``meta.json`` (about 1.5 GB/s, so a
few milliseconds for the built-in corpora): a truncated or corrupted index raises
:class:`DamagedIndexError` instead of yielding wrong or empty paragraphs.

Why materialise the text rather than seek back into the source: random access then costs one
``pread`` whatever the source (a ``.json`` map, parquet row groups, a streamed Hub dataset can
not be seeked cheaply), filters and splitting run once, and nothing but the touched pages is in
memory. The price is disk space equal to the kept text. A folder is built under a temporary name
and renamed into place, so readers never see a half-written index and concurrent builders race
harmlessly.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .stats import CorpusStats

FORMAT = 2
_FLUSH = 1 << 14  # rows buffered per column before writing
_FILES = ("text.bin", "titles.bin", "offsets.i64", "docs.i64", "pieces.i32", "titles.i64")


class DamagedIndexError(ValueError):
    """An index folder whose files disagree with its ``meta.json`` (truncated, corrupted, old)."""


def _crc32(path: Path, chunk: int = 1 << 22) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            crc = zlib.crc32(block, crc)
    return crc


def file_checks(folder: Path) -> dict[str, dict[str, int]]:
    """Size and CRC-32 of every data file of an index folder (what ``meta.json`` records)."""
    return {name: {"size": (folder / name).stat().st_size, "crc32": _crc32(folder / name)} for name in _FILES}


def cache_root() -> Path:
    """``$PRETRAINZERO_CACHE`` (default ``~/.cache/pretrainzero``)."""
    return Path(os.environ.get("PRETRAINZERO_CACHE") or Path.home() / ".cache" / "pretrainzero")


class _Columns:
    """Fixed-width columns buffered in lists and appended to raw files in chunks (constant memory)."""

    def __init__(self, folder: Path, spec: dict[str, str]) -> None:
        self._files = {name: open(folder / name, "wb") for name in spec}
        self._dtypes = spec
        self.buffers: dict[str, list[int]] = {name: [] for name in spec}

    def flush(self) -> None:
        for name, buf in self.buffers.items():
            np.asarray(buf, dtype=self._dtypes[name]).tofile(self._files[name])
            buf.clear()

    def close(self) -> None:
        self.flush()
        for f in self._files.values():
            f.close()


def build_store(
    final: Path, rows: Iterable[tuple[int, int, str, str | None]], stats: CorpusStats, meta: dict[str, Any]
) -> Path:
    """Write ``rows`` of (doc, piece, text, title) into ``final`` atomically; return the folder used.

    Raises whatever ``rows`` raises (e.g. the empty-corpus error) and leaves nothing behind.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=final.name + ".tmp-", dir=final.parent))
    try:
        cols = _Columns(
            tmp, {"offsets.i64": "<i8", "docs.i64": "<i8", "pieces.i32": "<i4", "titles.i64": "<i8"}
        )
        offsets, docs, pieces, titles = (
            cols.buffers[k] for k in ("offsets.i64", "docs.i64", "pieces.i32", "titles.i64")
        )
        last_title: str | None = None
        t0 = t1 = -1
        with open(tmp / "text.bin", "wb") as text_f, open(tmp / "titles.bin", "wb") as title_f:
            pos = title_pos = 0
            offsets.append(0)
            for doc, piece, text, title in rows:
                data = text.encode("utf-8")
                text_f.write(data)
                pos += len(data)
                offsets.append(pos)
                docs.append(doc)
                pieces.append(piece)
                if title != last_title:  # consecutive paragraphs of a document share one title copy
                    if title is None:
                        t0 = t1 = -1
                    else:
                        tdata = title.encode("utf-8")
                        title_f.write(tdata)
                        t0, t1 = title_pos, title_pos + len(tdata)
                        title_pos = t1
                    last_title = title
                titles.append(t0)
                titles.append(t1)
                if len(docs) >= _FLUSH:
                    cols.flush()
        cols.close()
        meta = {
            **meta,
            "format": FORMAT,
            "paragraphs": stats.paragraphs,
            "stats": stats.to_dict(),
            "files": file_checks(tmp),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished first: use its copy
            shutil.rmtree(tmp, ignore_errors=True)
        return final
    except BaseException:
        if "cols" in locals():
            cols.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class Store:
    """Read side of an index folder: O(1) paragraph access by position."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._text_fd: int | None = None
        self._title_fd: int | None = None
        self.meta = _verified_meta(path)
        self.n = int(self.meta["paragraphs"])
        self.stats = CorpusStats.from_dict(self.meta["stats"])
        arrays = {
            name: np.asarray(np.memmap(path / name, dtype=dtype, mode="r"))  # plain views of the file maps
            for name, dtype in (
                ("offsets.i64", "<i8"),
                ("docs.i64", "<i8"),
                ("pieces.i32", "<i4"),
                ("titles.i64", "<i8"),
            )
        }
        if len(arrays["docs.i64"]) != self.n or len(arrays["offsets.i64"]) != self.n + 1:
            raise DamagedIndexError(f"index {path} is damaged (array lengths disagree with meta.json)")
        self._docs_array = arrays["docs.i64"]  # for searchsorted
        # memoryviews index to Python ints ~5x faster than numpy scalars; still backed by the file map
        self._offsets, self._docs, self._pieces, self._titles = (
            arrays[k].data for k in ("offsets.i64", "docs.i64", "pieces.i32", "titles.i64")
        )
        self._text_fd = os.open(path / "text.bin", os.O_RDONLY)
        self._title_fd = os.open(path / "titles.bin", os.O_RDONLY)

    @staticmethod
    def exists(path: Path) -> bool:
        """A finished index folder is there (it may still be damaged: opening checks)."""
        return (path / "meta.json").is_file()

    def row(self, i: int) -> tuple[int, int, str, str | None]:
        """(doc, piece, text, title) of paragraph ``i`` (0 <= i < n)."""
        text_fd, title_fd = self._text_fd, self._title_fd
        if text_fd is None or title_fd is None:
            raise ValueError(f"index {self.path} is closed")
        start = self._offsets[i]
        text = os.pread(text_fd, self._offsets[i + 1] - start, start).decode("utf-8")
        t0 = self._titles[2 * i]
        title = None if t0 < 0 else os.pread(title_fd, self._titles[2 * i + 1] - t0, t0).decode("utf-8")
        return self._docs[i], self._pieces[i], text, title

    def find(self, doc: int, piece: int) -> int | None:
        """Position of (doc, piece), by binary search over the sorted document numbers."""
        i = int(np.searchsorted(self._docs_array, doc, side="left"))
        while i < self.n and self._docs[i] == doc:
            if self._pieces[i] == piece:
                return i
            i += 1
        return None

    def close(self) -> None:
        for attr in ("_text_fd", "_title_fd"):
            fd = getattr(self, attr, None)
            if fd is not None:
                setattr(self, attr, None)  # never close a number the OS may have reused
                os.close(fd)

    def __del__(self) -> None:
        self.close()


def _verified_meta(path: Path) -> dict[str, Any]:
    """``meta.json`` of ``path`` after checking every file's size and CRC-32 against it."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DamagedIndexError(f"index {path}: unreadable meta.json ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise DamagedIndexError(f"index {path} has format {got}, expected {FORMAT}")
    expected = meta.get("files") or {}
    for name in _FILES:
        want = expected.get(name)
        try:
            size = (path / name).stat().st_size
        except OSError:
            raise DamagedIndexError(f"index {path}: {name} is missing") from None
        if not want or size != want.get("size"):
            raise DamagedIndexError(
                f"index {path}: {name} has {size} bytes, meta.json says {want and want.get('size')} (truncated?)"
            )
    for name in _FILES:
        if _crc32(path / name) != expected[name]["crc32"]:
            raise DamagedIndexError(f"index {path}: {name} fails its CRC-32 check (corrupted)")
    return meta
