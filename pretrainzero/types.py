"""Plain data records shared by every layer (no torch, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One unit of corpus text.

    ``id`` is stable across runs and machines (derived from the corpus name and the source
    position), so an episode can be rebuilt from ``(env id, paragraph id, seed)``.
    """

    id: str
    text: str
    corpus: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
