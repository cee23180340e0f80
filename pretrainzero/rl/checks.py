"""Range checks for config dataclasses: every number finite, each within its documented range.

A NaN slips through ordinary comparisons (``nan <= 0`` is False), so every float field is checked
for finiteness first, and ranges are written as intervals that the error message repeats.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any


def check_finite(obj: Any) -> None:
    """Every float field of a dataclass is finite (no NaN, no +-inf)."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{f.name} must be a finite number, got {value}")
        if isinstance(value, dict):
            for key, v in value.items():
                if isinstance(v, float) and math.isnan(v):
                    raise ValueError(f"{f.name}.{key} must be a number, got nan")


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def check_range(
    obj: Any, name: str, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False, why: str = ""
) -> None:
    """``lo <= obj.name <= hi`` (``<`` on an open side); ``hi`` may be ``math.inf`` (then: finite)."""
    value = getattr(obj, name)
    if value is None:
        return
    ok = (value > lo if lo_open else value >= lo) and (
        value < hi if hi_open or hi == math.inf else value <= hi
    )
    if not (ok and math.isfinite(value)):
        interval = (
            f"{'(' if lo_open else '['}{_num(lo)}, {_num(hi)}{')' if hi_open or hi == math.inf else ']'}"
        )
        raise ValueError(f"{name} must be in {interval}{' (' + why + ')' if why else ''}, got {value}")
