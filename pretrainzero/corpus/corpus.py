"""`Corpus`: a spec turned into paragraphs, streamed or randomly accessed through an index.

Paragraph ids are ``"<corpus>:<doc>:<piece>"``: ``doc`` numbers the source records in reading
order (bad records included, so repairing one does not shift the rest) and ``piece`` numbers the
paragraphs cut from that record before filtering (so changing ``min_chars`` or dedup never
renames a kept paragraph). Ids are therefore stable across runs and machines for the same source
content, and :meth:`Corpus.index_of` inverts them by binary search in the index.

Iteration streams from the source (or reads the index once it exists) and never holds the corpus
in memory. ``len``, ``corpus[i]``, ``index_of`` and ``stats`` build the on-disk index once (see
:mod:`.store`), cached under ``$PRETRAINZERO_CACHE/index/<name>/<definition>-<source>/``: the
definition key hashes the spec's content fields, the source key the source files' paths, sizes and
mtimes. Two definitions of one name therefore never share or delete each other's index; only an
index of the *same* definition whose source files changed is pruned. An index that fails its
size or checksum check is set aside and rebuilt, with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..types import Paragraph
from .dedup import HashSet64, hash64
from .sources import CorpusError, fingerprint, iter_records
from .spec import CorpusSpec
from .split import split_document
from .stats import CorpusStats, log_once
from .store import DamagedIndexError, Store, build_store, cache_root

logger = logging.getLogger("pretrainzero.corpus")

# Fields that change the paragraphs (description, license, language and tasks do not).
_CONTENT_FIELDS = (
    "name",
    "source",
    "text_field",
    "title_field",
    "hf_config",
    "split",
    "streaming",
    "min_chars",
    "max_chars",
    "dedup",
    "version",
)


def iter_rows(
    spec: CorpusSpec, stats: CorpusStats, *, progress: Any = None
) -> Iterator[tuple[int, int, str, str | None]]:
    """Yield kept ``(doc, piece, text, title)`` rows in order, counting everything into ``stats``.

    Raises :class:`CorpusError` at the end of a pass that kept nothing.
    """
    seen = HashSet64() if spec.dedup else None
    for record in iter_records(spec, stats):
        doc = stats.documents
        stats.documents += 1
        if progress is not None:
            progress.update(1)
        if record is None:
            continue
        text, title = record
        if not text.strip():
            stats.empty_docs += 1
            continue
        pieces, n_long = split_document(text, spec.max_chars)
        stats.long_split += n_long
        for piece, para in enumerate(pieces):
            if len(para) < spec.min_chars:
                stats.too_short += 1
                continue
            if seen is not None and not seen.add(hash64(para)):
                stats.duplicates += 1
                continue
            stats.paragraphs += 1
            yield doc, piece, para, title
    stats.complete = True
    if stats.paragraphs == 0:
        raise CorpusError(
            f"corpus {spec.name!r} (source {spec.describe_source()}): 0 paragraphs — "
            f"{stats.empty_reason(spec.text_field, spec.min_chars)}"
        )


class Corpus:
    """Paragraphs of one :class:`CorpusSpec`; see the module docstring for ids and caching."""

    def __init__(self, spec: CorpusSpec) -> None:
        self.spec = spec
        self._store: Store | None = None
        self._key: str | None = None
        self._stream_stats: CorpusStats | None = None

    def __repr__(self) -> str:
        return f"Corpus({self.spec.name!r}, source={self.spec.describe_source()!r})"

    # -- ids -----------------------------------------------------------------------------------
    def paragraph_id(self, doc: int, piece: int) -> str:
        return f"{self.spec.name}:{doc}:{piece}"

    def _paragraph(self, doc: int, piece: int, text: str, title: str | None) -> Paragraph:
        meta: dict[str, Any] = {"doc": doc, "piece": piece}
        if title is not None:
            meta["title"] = title
        return Paragraph(id=f"{self.spec.name}:{doc}:{piece}", text=text, corpus=self.spec.name, meta=meta)

    def index_of(self, paragraph_id: str) -> int:
        """Position of ``paragraph_id`` (inverse of ``self[i].id``); KeyError if not in the corpus."""
        name, _, rest = str(paragraph_id).rpartition(":")
        name, _, doc = name.rpartition(":")
        if name != self.spec.name or not doc.isdigit() or not rest.isdigit():
            raise KeyError(
                f"{paragraph_id!r} is not a paragraph id of corpus {self.spec.name!r} "
                f"(expected '{self.spec.name}:<doc>:<piece>')"
            )
        found = (self._store or self._ensure_store()).find(int(doc), int(rest))
        if found is None:
            raise KeyError(
                f"paragraph {paragraph_id!r} is not in corpus {self.spec.name!r} (filtered out or out of range)"
            )
        return found

    # -- access --------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Paragraph]:
        store = self._cached_store()
        if store is not None:
            for i in range(store.n):
                yield self._paragraph(*store.row(i))
            return
        stats = CorpusStats()
        for row in iter_rows(self.spec, stats):
            yield self._paragraph(*row)
        self._stream_stats = stats
        log_once(self.cache_key, stats, self._summary(stats))

    def __len__(self) -> int:
        return (self._store or self._ensure_store()).n

    def __getitem__(self, i: int) -> Paragraph:
        store = self._store or self._ensure_store()
        if type(i) is not int:
            if isinstance(i, bool) or not hasattr(i, "__index__"):
                raise TypeError(f"corpus indices must be integers, got {type(i).__name__}")
            i = i.__index__()  # numpy integers
        if i < 0:
            i += store.n
        if not 0 <= i < store.n:
            raise IndexError(
                f"paragraph index {i} out of range for corpus {self.spec.name!r} ({store.n} paragraphs)"
            )
        return self._paragraph(*store.row(i))

    @property
    def stats(self) -> CorpusStats:
        """Counts of a full pass: the index's, or a finished iteration's (else builds the index)."""
        if self._store is None and self._stream_stats is not None:
            return self._stream_stats
        return self._ensure_store().stats

    def summary(self) -> str:
        """The one-line summary of what was kept, split and skipped."""
        return self._summary(self.stats)

    def _summary(self, stats: CorpusStats) -> str:
        return stats.summary(self.spec.name, self.spec.describe_source(), self.spec.text_field)

    # -- index ---------------------------------------------------------------------------------
    @property
    def definition_key(self) -> str:
        """Hash of the spec's content fields: one per definition of a corpus name."""
        content = {f: getattr(self.spec, f) for f in _CONTENT_FIELDS}
        return _hash(content)

    @property
    def cache_key(self) -> str:
        """``<definition key>-<source key>``; the source key hashes the files' paths, sizes, mtimes."""
        if self._key is None:
            self._key = f"{self.definition_key}-{_hash(fingerprint(self.spec))}"
        return self._key

    @property
    def index_path(self) -> Path:
        return cache_root() / "index" / self.spec.name / self.cache_key

    def is_indexed(self) -> bool:
        return self._store is not None or Store.exists(self.index_path)

    def _cached_store(self) -> Store | None:
        if self._store is None and Store.exists(self.index_path):
            try:
                self._store = Store(self.index_path)
            except DamagedIndexError as exc:
                logger.warning("corpus %r: %s; rebuilding it from the source", self.spec.name, exc)
                _set_aside(self.index_path)
                return None
            log_once(self.cache_key, self._store.stats, self._summary(self._store.stats))
        return self._store

    def build_index(self, *, progress: bool = False) -> Store:
        """Build (once) and open the on-disk index; ``progress`` shows a tqdm bar over documents.

        Processes that need the same index at once (e.g. async vector envs) wait on a file lock
        for the first builder instead of all reading the source.
        """
        store = self._cached_store()
        if store is not None:
            return store
        with _file_lock(cache_root() / "locks" / f"{self.spec.name}-{self.cache_key}.lock"):
            store = self._cached_store()
            return store if store is not None else self._build(progress)

    def _build(self, progress: bool) -> Store:
        stats = CorpusStats()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(desc=f"indexing {self.spec.name}", unit=" docs", unit_scale=True)
        try:
            meta = {"spec": self.spec.to_dict(defaults=True), "key": self.cache_key}
            path = build_store(self.index_path, iter_rows(self.spec, stats, progress=bar), stats, meta)
        except BaseException:
            with contextlib.suppress(OSError):  # a source that fails leaves no empty index/<name> behind
                self.index_path.parent.rmdir()
            raise
        finally:
            if bar is not None:
                bar.close()
        _prune_stale(self.index_path)
        self._store = Store(path)
        log_once(self.cache_key, self._store.stats, self._summary(self._store.stats))
        return self._store

    _ensure_store = build_index

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec}  # file handles and maps are reopened lazily after unpickling

    def __setstate__(self, state: dict[str, Any]) -> None:
        Corpus.__init__(self, state["spec"])


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` (no-op where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: concurrent builders race harmlessly (atomic rename)
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _hash(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=list).encode("utf-8")).hexdigest()[:16]


def _set_aside(path: Path) -> None:
    """Move a damaged index out of the way atomically (a concurrent reader may do the same), then delete it."""
    trash = path.with_name(f"{path.name}.damaged-{os.getpid()}")
    try:
        os.rename(path, trash)
    except OSError:
        return  # someone else moved it already
    shutil.rmtree(trash, ignore_errors=True)


def _prune_stale(current: Path) -> None:
    """Remove indexes of the same definition built from older source files (changed since).

    Indexes of other definitions of the same name are kept: each belongs to its own spec.
    Open readers keep their files on POSIX.
    """
    definition = current.name.split("-", 1)[0]
    for other in current.parent.glob(f"{definition}-*"):
        if other == current or ".tmp-" in other.name or not other.is_dir():
            continue  # a build in progress
        shutil.rmtree(other, ignore_errors=True)
        (cache_root() / "locks" / f"{current.parent.name}-{other.name}.lock").unlink(missing_ok=True)
