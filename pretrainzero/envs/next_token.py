r"""``NextToken``: the RPT baseline. Read the beginning of a paragraph, predict the next word.

Observation: the next-word prompt over a prefix cut at a random word boundary. Reward: exact
match of the last ``\boxed{}`` with the next word (``prefix=True``: RPT-style prefix match that
ends on a word boundary). One step per episode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..masking import Masker
from ..types import Paragraph
from .masked_span import MaskedSpanEnv


class NextTokenEnv(MaskedSpanEnv):
    """Predict the next word; a :class:`MaskedSpanEnv` with a next-token masker."""

    def __init__(
        self,
        corpus: str | Sequence[Paragraph | str] = "wiki-vital-en",
        *,
        masker: str | Masker = "next-token",
        masker_kwargs: Mapping[str, Any] | None = None,
        prefix: bool = False,
        **kwargs: Any,
    ):
        if isinstance(masker, str) and masker not in ("next-token", "entropy-next-token"):
            raise ValueError(f"NextToken needs a next-token masker, got {masker!r}")
        super().__init__(corpus, masker=masker, masker_kwargs=masker_kwargs, prefix=prefix, **kwargs)
