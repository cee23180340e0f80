"""Per-generation cache: an append-only JSONL file that lets an interrupted eval resume.

A generation is keyed by ``(sample id, prompt hash, decoding, sample index k, model identity)``:
changing the prompt, any decoding setting or the model misses the cache instead of silently
reusing stale text. Lines are appended and flushed one batch at a time; a run killed mid-write
leaves at most one torn last line, which :func:`load` skips (so the cache is not written with the
temp-file-and-rename pattern the results files use: appending is what makes resuming cheap).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def prompt_hash(prompt: Any) -> str:
    """sha256 of a prompt (string or chat messages) in a canonical JSON form."""
    return hashlib.sha256(json.dumps(prompt, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def generation_key(sample_id: str, p_hash: str, decoding: Mapping[str, Any], k_index: int,
                   model_key: str) -> str:
    """The cache key of one generation (a sha256 hex digest)."""
    blob = json.dumps([sample_id, p_hash, dict(decoding), int(k_index), model_key], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class CachedGeneration:
    key: str
    text: str
    finish_reason: str
    n_tokens: int

    def to_json(self) -> str:
        return json.dumps({"key": self.key, "text": self.text, "finish_reason": self.finish_reason,
                           "n_tokens": self.n_tokens}, ensure_ascii=False)


def load(path: str | os.PathLike[str]) -> dict[str, CachedGeneration]:
    """Every complete entry of a cache file (missing file → empty; torn/garbled lines skipped)."""
    p = Path(path)
    out: dict[str, CachedGeneration] = {}
    if not p.exists():
        return out
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                d = json.loads(line)
                out[d["key"]] = CachedGeneration(d["key"], d["text"], d["finish_reason"], int(d["n_tokens"]))
            except (ValueError, KeyError, TypeError):
                continue  # a torn line from a killed run: that generation is simply redone
    return out


def append(path: str | os.PathLike[str], entries: Iterable[CachedGeneration]) -> None:
    """Append entries and fsync, so a finished batch survives a crash right after it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(e.to_json() + "\n" for e in entries)
    if not text:
        return
    with p.open("a", encoding="utf-8") as fh:
        # A torn line left by a killed run would glue onto this write; start on a fresh line.
        if fh.tell() > 0:
            with p.open("rb") as rd:
                rd.seek(-1, os.SEEK_END)
                if rd.read(1) != b"\n":
                    text = "\n" + text
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
