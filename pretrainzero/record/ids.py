"""Row ids: ``slug(model)__benchmark__protocol-v<version>``, the record's key and file name."""

from __future__ import annotations

import re

_SLUG_RE = re.compile(r"[^a-z0-9.]+")


def slug(name: str) -> str:
    """Lower-case a model name into a file- and URL-safe slug.

    >>> slug("HuggingFaceTB/SmolLM2-135M-Instruct")
    'huggingfacetb-smollm2-135m-instruct'
    """
    out = _SLUG_RE.sub("-", name.lower()).strip("-.")
    if not out:
        raise ValueError(f"model name {name!r} has no characters usable in a row id")
    return out


def row_id(model_name: str, benchmark: str, protocol_id: str, version: int | None = None) -> str:
    """The stable row id of a record: ``slug(model)__benchmark__protocol-id-v<version>``.

    The version is part of the id, so a run under a new protocol version never overwrites a
    record of an older one. ``version=None`` gives the id records had before versions were in
    it (still accepted for version-1 records).

    >>> row_id("SmolLM2-135M-Instruct", "gsm8k", "pz-0shot-boxed", 2)
    'smollm2-135m-instruct__gsm8k__pz-0shot-boxed-v2'
    """
    base = f"{slug(model_name)}__{benchmark}__{protocol_id}"
    return base if version is None else f"{base}-v{int(version)}"
