"""Row ids: ``slug(model)__benchmark__protocol-v<version>[__subset]``, the record's key and file name."""

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


def subset_tag(n: int, *, seed: int | None = None, partial: bool = False) -> str:
    """The id suffix of a record evaluated on fewer items than the full benchmark.

    ``first100`` (the first n items), ``n100-seed7`` (a seeded, stratified sample of n),
    ``partial100`` (a partial or custom file of n items).

    >>> subset_tag(100), subset_tag(100, seed=7), subset_tag(12, partial=True)
    ('first100', 'n100-seed7', 'partial12')
    """
    if partial:
        return f"partial{int(n)}"
    return f"first{int(n)}" if seed is None else f"n{int(n)}-seed{int(seed)}"


def row_id(model_name: str, benchmark: str, protocol_id: str, version: int | None = None,
           subset: str | None = None) -> str:
    """The stable row id of a record: ``slug(model)__benchmark__protocol-id-v<version>[__<subset>]``.

    The version is part of the id, so a run under a new protocol version never overwrites a
    record of an older one; so is the subset tag (:func:`subset_tag`), so a run on the first 100
    items never overwrites (or is overwritten by) the full run. ``version=None`` gives the id
    records had before versions were in it (still accepted for version-1 records).

    >>> row_id("SmolLM2-135M-Instruct", "gsm8k", "pz-0shot-boxed", 2)
    'smollm2-135m-instruct__gsm8k__pz-0shot-boxed-v2'
    >>> row_id("SmolLM2-135M-Instruct", "gsm8k", "pz-0shot-boxed", 2, subset_tag(100))
    'smollm2-135m-instruct__gsm8k__pz-0shot-boxed-v2__first100'
    """
    base = f"{slug(model_name)}__{benchmark}__{protocol_id}"
    base = base if version is None else f"{base}-v{int(version)}"
    return base if subset is None else f"{base}__{subset}"
