"""Atomic file writes: a temp file in the target's folder, flushed to disk, then ``os.replace``.

A reader (or a crash, or a full disk) therefore sees the old file or the whole new one, never a
half-written one. Every results record, leaderboard page, recipe copy and corpus YAML the package
writes goes through here.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def _replacing(path: Path, mode: str) -> Iterator[IO]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        opened = os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding="utf-8", newline="\n")
        with opened as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically, creating its folder."""
    with _replacing(Path(path), "w") as fh:
        fh.write(text)


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Copy the bytes of ``src`` to ``dst`` atomically, creating its folder."""
    with _replacing(Path(dst), "wb") as out, open(src, "rb") as inp:
        while chunk := inp.read(1 << 20):
            out.write(chunk)
