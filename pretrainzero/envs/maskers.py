"""Maskers by name, so env kwargs and YAML can select them: ``masker="whole_word"``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..masking import (
    EntropyNextTokenMasker,
    MaskedExample,
    NextTokenMasker,
    RandomSpanMasker,
    WholeWordMasker,
)

Masker = Callable[[str, Any], MaskedExample | None]

MASKERS: dict[str, Callable[..., Masker]] = {
    "random_span": RandomSpanMasker,  # the paper's Random RLPT baseline
    "whole_word": WholeWordMasker,
    "next_token": NextTokenMasker,  # Random NTP / RPT
    "entropy_next_token": EntropyNextTokenMasker,  # needs scorer=callable
}


def make_masker(masker: str | Masker = "random_span", kwargs: Mapping[str, Any] | None = None) -> Masker:
    """A masker from its name and kwargs, or a masker object passed through unchanged."""
    if callable(masker):
        if kwargs:
            raise ValueError("masker_kwargs only apply when the masker is given by name")
        return masker
    try:
        factory = MASKERS[masker]
    except KeyError:
        raise ValueError(f"unknown masker {masker!r}; choose one of {sorted(MASKERS)}") from None
    return factory(**dict(kwargs or {}))
