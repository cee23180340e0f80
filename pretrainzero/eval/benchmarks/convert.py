"""Helpers the benchmark modules' row converters share: field lookup, schema errors, a math converter.

A converter takes the rows of every file read (``(name, rows)`` pairs, see :data:`.spec.RowFile`)
and returns :class:`~.spec.Sample` objects; a missing or malformed field raises
:class:`~.io.BenchmarkDataError` naming the file, the row and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..extract import LETTERS
from .io import BenchmarkDataError
from .spec import Converter, Row, RowFile, Sample


def each_row(parts: Sequence[RowFile]) -> Iterator[tuple[str, Row]]:
    """``(where, row)`` over every row of every file; ``where`` is ``"<file> row <i>"``."""
    for origin, rows in parts:
        for i, row in enumerate(rows):
            yield f"{origin} row {i}", row


def first(row: Row, keys: tuple[str, ...], where: str) -> Any:
    """The first of ``keys`` present (not None) in ``row``; a schema error naming them otherwise."""
    for key in keys:
        if key in row and row[key] is not None:
            return row[key]
    raise BenchmarkDataError(f"{where}: missing field {' or '.join(repr(k) for k in keys)} (has {sorted(row)[:12]})")


def text(value: Any) -> str:
    """A gold answer as text: ``12.0`` (a float column) reads ``12``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value).strip()


def letter_ok(letter: str, n_options: int, where: str) -> str:
    if len(letter) != 1 or letter not in LETTERS[:n_options]:
        raise BenchmarkDataError(f"{where}: answer {letter!r} is not one of {LETTERS[:n_options]}")
    return letter


def plain_answer(row: Row, where: str) -> str:
    return text(first(row, ("answer",), where))


def math_rows(question_keys: tuple[str, ...], answer_fn: Callable[[Row, str], str] = plain_answer,
              id_keys: tuple[str, ...] = ("unique_id", "id", "idx"), category_key: str | None = None) -> Converter:
    """Converter for an open-answer set: question, gold answer (``answer_fn``), id (row index if
    none), category from ``category_key``; the solution is kept in ``meta`` when the row has one."""

    def convert(parts: Sequence[RowFile]) -> list[Sample]:
        out = []
        for i, (where, r) in enumerate(each_row(parts)):
            rid = next((r[k] for k in id_keys if r.get(k) is not None), i)
            category = str(r[category_key]) if category_key and r.get(category_key) is not None else None
            gold = answer_fn(r, where)
            if not gold:
                raise BenchmarkDataError(f"{where}: empty gold answer")
            out.append(Sample(id=str(rid), question=str(first(r, question_keys, where)), answer=gold,
                              category=category, meta={"solution": r.get("solution")} if r.get("solution") else {}))
        return out

    return convert
