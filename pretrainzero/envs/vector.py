"""Shared-memory transport for :class:`AnyText`, so ``make_vec(id, n, "async")`` works as is.

Gymnasium's async vector env passes observations through shared memory by default and extends
that through ``singledispatch`` hooks; it has none for custom spaces (and its ``Text`` hook
returns stale padding, Gymnasium issue 1164). These hooks give each env a UTF-8 slot of
``min(4 * max_length, SLOT_BYTES)`` bytes plus a length; a longer observation raises and names
the fix (``vector_kwargs={"shared_memory": False}``, which :func:`make_vec` also sets).
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from gymnasium.vector.utils import shared_memory as shm

from .spaces import AnyText

SLOT_BYTES = 1 << 20  # per env; prompts are a few KB


def _slot(space: AnyText) -> int:
    return max(1, min(4 * space.max_length, SLOT_BYTES))


class SharedTexts(Sequence[str]):
    """Live view of the observation slots; ``deepcopy`` (what the vector env returns) is a tuple."""

    def __init__(self, memory: tuple[Any, Any], n: int, slot: int):
        self._buf, self._lengths = memory
        self._n, self._slot = n, slot

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(self[k] for k in range(*i.indices(self._n)))
        if not -self._n <= i < self._n:
            raise IndexError(i)
        i %= self._n
        raw = ctypes.string_at(ctypes.addressof(self._buf) + i * self._slot, self._lengths[i])
        return raw.decode("utf-8", "surrogatepass")

    def __deepcopy__(self, memo: dict) -> tuple[str, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        return f"SharedTexts({tuple(self)!r})"


@shm.create_shared_memory.register(AnyText)
def _create(space: AnyText, n: int = 1, ctx: ModuleType = mp) -> tuple[Any, Any]:
    return ctx.Array("B", n * _slot(space), lock=False), ctx.Array("q", n, lock=False)


@shm.read_from_shared_memory.register(AnyText)
def _read(space: AnyText, shared_memory: tuple[Any, Any], n: int = 1) -> SharedTexts:
    return SharedTexts(shared_memory, n, _slot(space))


@shm.write_to_shared_memory.register(AnyText)
def _write(space: AnyText, index: int, value: str, shared_memory: tuple[Any, Any]) -> None:
    data = value.encode("utf-8", "surrogatepass")
    slot = _slot(space)
    if len(data) > slot:
        raise ValueError(
            f"observation of {len(data)} bytes exceeds the {slot}-byte shared-memory slot; "
            'use make_vec(..., vector_kwargs={"shared_memory": False})'
        )
    buf, lengths = shared_memory
    ctypes.memmove(ctypes.addressof(buf) + index * slot, data, len(data))
    lengths[index] = len(data)
