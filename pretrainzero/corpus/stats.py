"""Counts of what a pass over a corpus kept, split and skipped, and the one-line summary."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from typing import Any

logger = logging.getLogger("pretrainzero.corpus")

# Counter name -> how it reads in the summary / error messages.
_SKIPS = {
    "malformed": "malformed records",
    "undecodable": "records with undecodable bytes",
    "missing_field": "records lacking the text field",
    "empty_docs": "empty documents",
    "too_short": "paragraphs under min_chars",
    "duplicates": "duplicate paragraphs",
}
_BAD_INPUT = ("malformed", "undecodable", "missing_field")


@dataclass
class CorpusStats:
    """Mutable counters filled while streaming a corpus (documents are source records)."""

    files: int = 0
    documents: int = 0  # records seen, good or bad
    paragraphs: int = 0  # kept
    malformed: int = 0
    undecodable: int = 0
    missing_field: int = 0
    empty_docs: int = 0
    too_short: int = 0
    duplicates: int = 0
    long_split: int = 0  # paragraphs over max_chars that were split
    complete: bool = False  # True once a full pass has finished

    @property
    def bad_input(self) -> int:
        return sum(getattr(self, k) for k in _BAD_INPUT)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CorpusStats:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def summary(self, name: str, source: str, text_field: str = "text") -> str:
        """One line: what was kept, split and skipped."""
        parts = [
            f"corpus {name!r} (source {source}): {self.paragraphs:,} paragraphs from {self.documents:,} documents"
        ]
        skipped = [f"{getattr(self, k):,} {label}" for k, label in _SKIPS.items() if getattr(self, k)]
        if skipped:
            parts.append("skipped " + ", ".join(skipped).replace("the text field", f"field {text_field!r}"))
        if self.long_split:
            parts.append(f"split {self.long_split:,} long paragraphs")
        return "; ".join(parts)

    def empty_reason(self, text_field: str, min_chars: int) -> str:
        """Why a pass produced no paragraph, for the error message."""
        if self.documents == 0:
            return "the source holds no records" if self.files else "no input"
        reasons = []
        if self.missing_field:
            reasons.append(f"{self.missing_field:,} records lacked field {text_field!r}")
        if self.malformed:
            reasons.append(f"{self.malformed:,} records were malformed")
        if self.undecodable:
            reasons.append(f"{self.undecodable:,} records had undecodable bytes")
        if self.empty_docs:
            reasons.append(f"{self.empty_docs:,} documents were empty")
        if self.too_short:
            reasons.append(f"{self.too_short:,} paragraphs were shorter than min_chars={min_chars}")
        if self.duplicates:
            reasons.append(f"{self.duplicates:,} were duplicates")
        return ", ".join(reasons) or "no paragraph survived"


_logged: set[str] = set()


def log_once(key: str, stats: CorpusStats, line: str) -> None:
    """Log the summary once per corpus content key and process (warning if input was bad)."""
    if key in _logged:
        return
    _logged.add(key)
    logger.log(logging.WARNING if stats.bad_input else logging.INFO, line)
