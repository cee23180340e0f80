"""Published reference tables (``leaderboards/reference/*.yaml``): loader and self-checks.

A reference file transcribes a paper's tables in percent, with its citation, the protocol the
numbers claim (and how sure that claim is), and per-cell ``suspect`` flags. Loading re-derives
every aggregate cell from its components (within print rounding) and cross-checks aggregates that
appear in two tables; any mismatch not explained by a suspect flag is a load error. It also
re-applies the single-sample heuristic to AMC23/AIME24 cells, so an unflagged suspect cell is an
error too: the transcription is checked, not trusted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .aggregate import GENERAL_BENCHMARKS, MATH_BENCHMARKS, PAPER_BENCHMARKS

# Tables print 2 decimals and aggregates are means of rounded values: allow a hair over 0.01.
ROUNDING_TOLERANCE = 0.0105
# Values printed with one significant decimal (3.30 for 1/30): how close to k/n counts as "exactly".
_SINGLE_SAMPLE_SLACK = 0.05
_SINGLE_SAMPLE_DENOMINATORS = {"aime24": 30, "amc23": 40}
COLUMNS = frozenset(PAPER_BENCHMARKS) | {"math_avg", "overall_avg"}


class ReferenceError(ValueError):
    """A reference file that is malformed or whose numbers do not check out."""


@dataclass(frozen=True)
class RefRow:
    key: str
    model: str
    method: str
    values: Mapping[str, float]
    suspect: Mapping[str, str]


@dataclass(frozen=True)
class RefTable:
    id: str
    title: str
    stage: str
    columns: tuple[str, ...]
    rows: tuple[RefRow, ...]


@dataclass(frozen=True)
class Reference:
    path: Path
    source_id: str
    citation: str
    url: str
    short: str  # how tables cite it, e.g. "arXiv 2512.03442"
    protocol_id: str
    protocol_status: str
    protocol_note: str
    column_notes: Mapping[str, str]
    errata: tuple[str, ...]
    suspect_reasons: Mapping[str, str]
    tables: tuple[RefTable, ...]

    def table(self, table_id: str) -> RefTable:
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(f"{self.path}: no table {table_id!r}")

    def cell(self, table_id: str, key: str, column: str) -> float:
        """One transcribed number, e.g. ``cell('table1', 'qwen3-4b/pretrainzero', 'mmlu_pro')``."""
        for row in self.table(table_id).rows:
            if row.key == key:
                return row.values[column]
        raise KeyError(f"{self.path}: no row {key!r} in {table_id}")


@dataclass(frozen=True)
class CombinedRow:
    """One model/method row with all columns of a stage's tables merged (for display)."""

    key: str
    model: str
    method: str
    values: Mapping[str, float]
    suspect: Mapping[str, str]


def single_sample_suspect(column: str, value: float) -> bool:
    """True when an AMC23/AIME24 percentage is an exact k/n for n problems (one sample, not mean@32).

    Zero is excluded: it is what mean@32 gives too when nothing is solved.

    >>> single_sample_suspect("aime24", 13.30), single_sample_suspect("aime24", 16.36)
    (True, False)
    """
    n = _SINGLE_SAMPLE_DENOMINATORS.get(column)
    if n is None or value <= 0:
        return False
    nearest = round(value * n / 100) * 100 / n
    return abs(value - nearest) <= _SINGLE_SAMPLE_SLACK


def _req(obj: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in obj:
        raise ReferenceError(f"{where}.{key}: missing")
    if not isinstance(obj[key], kind):
        raise ReferenceError(f"{where}.{key}: expected {kind}, got {obj[key]!r}")
    return obj[key]


def _parse_row(raw: Any, columns: tuple[str, ...], where: str, reasons: Mapping[str, str]) -> RefRow:
    if not isinstance(raw, Mapping):
        raise ReferenceError(f"{where}: expected an object, got {raw!r}")
    values = _req(raw, "values", where, list)
    if len(values) != len(columns):
        raise ReferenceError(
            f"{where}.values: {len(values)} numbers for {len(columns)} columns {list(columns)}"
        )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 100:
            raise ReferenceError(f"{where}.values: {v!r} is not a percentage in [0, 100]")
    suspect = dict(raw.get("suspect") or {})
    for col, reason in suspect.items():
        if col not in columns:
            raise ReferenceError(f"{where}.suspect: column {col!r} is not one of {list(columns)}")
        if reason not in reasons:
            raise ReferenceError(f"{where}.suspect.{col}: reason {reason!r} not in suspect_reasons")
    return RefRow(
        _req(raw, "key", where, str),
        _req(raw, "model", where, str),
        _req(raw, "method", where, str),
        dict(zip(columns, (float(v) for v in values), strict=True)),
        suspect,
    )


def parse_reference(raw: Any, path: Path) -> Reference:
    """Build a ``Reference`` from parsed YAML/JSON and run ``check_reference`` on it."""
    where = str(path)
    if not isinstance(raw, Mapping):
        raise ReferenceError(f"{where}: expected a mapping at top level")
    source = _req(raw, "source", where, Mapping)
    protocol = _req(raw, "protocol", where, Mapping)
    if raw.get("units") != "percent":
        raise ReferenceError(f"{where}.units: only 'percent' is supported, got {raw.get('units')!r}")
    reasons = dict(raw.get("suspect_reasons") or {})
    tables = []
    for i, t in enumerate(_req(raw, "tables", where, list)):
        tw = f"{where}.tables[{i}]"
        columns = tuple(_req(t, "columns", tw, list))
        unknown = [c for c in columns if c not in COLUMNS]
        if unknown:
            raise ReferenceError(f"{tw}.columns: unknown {unknown}; known: {sorted(COLUMNS)}")
        rows = tuple(
            _parse_row(r, columns, f"{tw}.rows[{j}]", reasons)
            for j, r in enumerate(_req(t, "rows", tw, list))
        )
        keys = [r.key for r in rows]
        if len(set(keys)) != len(keys):
            raise ReferenceError(f"{tw}: duplicate row keys")
        tables.append(
            RefTable(
                _req(t, "id", tw, str), _req(t, "title", tw, str), _req(t, "stage", tw, str), columns, rows
            )
        )
    ref = Reference(
        path=path,
        source_id=_req(source, "id", f"{where}.source", str),
        citation=" ".join(_req(source, "citation", f"{where}.source", str).split()),
        url=_req(source, "url", f"{where}.source", str),
        short=f"arXiv {source['arxiv']}" if source.get("arxiv") else str(source.get("id")),
        protocol_id=_req(protocol, "id", f"{where}.protocol", str),
        protocol_status=_req(protocol, "status", f"{where}.protocol", str),
        protocol_note=" ".join(str(protocol.get("note", "")).split()),
        column_notes={k: " ".join(v.split()) for k, v in (raw.get("column_notes") or {}).items()},
        errata=tuple(" ".join(e.split()) for e in raw.get("errata") or ()),
        suspect_reasons={k: " ".join(v.split()) for k, v in reasons.items()},
        tables=tuple(tables),
    )
    problems = check_reference(ref)
    if problems:
        raise ReferenceError(f"{where}: transcription check failed:\n  " + "\n  ".join(problems))
    return ref


def check_reference(ref: Reference) -> list[str]:
    """Every unexplained inconsistency.

    Checks aggregates against their components, aggregates given by two tables, and unflagged
    single-sample cells.
    """
    problems: list[str] = []
    by_key: dict[str, list[tuple[RefTable, RefRow]]] = {}
    for table in ref.tables:
        for row in table.rows:
            by_key.setdefault(row.key, []).append((table, row))
            v, flagged = row.values, set(row.suspect)
            where = f"{table.id}:{row.key}"
            if "math_avg" in v and all(b in v for b in MATH_BENCHMARKS):
                mean = sum(v[b] for b in MATH_BENCHMARKS) / len(MATH_BENCHMARKS)
                if abs(mean - v["math_avg"]) > ROUNDING_TOLERANCE and not flagged & {
                    "math_avg",
                    *MATH_BENCHMARKS,
                }:
                    problems.append(
                        f"{where}: math_avg {v['math_avg']} but the six math cells average {mean:.3f}"
                    )
            if "overall_avg" in v and all(c in v for c in ("math_avg", *GENERAL_BENCHMARKS)):
                mean = sum(v[c] for c in ("math_avg", *GENERAL_BENCHMARKS)) / 4
                if abs(mean - v["overall_avg"]) > ROUNDING_TOLERANCE and not flagged:
                    problems.append(
                        f"{where}: overall_avg {v['overall_avg']} but its four parts average {mean:.3f}"
                    )
            for col, value in v.items():
                if single_sample_suspect(col, value) and col not in row.suspect:
                    problems.append(f"{where}: {col} {value} looks single-sample but is not flagged suspect")
    for key, appearances in by_key.items():
        avgs = [
            (t.id, r.values["math_avg"], "math_avg" in r.suspect)
            for t, r in appearances
            if "math_avg" in r.values
        ]
        for tid, value, suspect in avgs[1:]:
            tid0, value0, suspect0 = avgs[0]
            if abs(value - value0) > ROUNDING_TOLERANCE and not (suspect or suspect0):
                problems.append(f"{key}: math_avg {value0} in {tid0} but {value} in {tid}")
    return problems


def load_reference(path: Path) -> Reference:
    """Load and check one reference file (``.yaml``/``.yml``/``.json``)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        raw = json.loads(text)
    else:
        import yaml  # only needed for YAML references

        raw = yaml.safe_load(text)
    return parse_reference(raw, path)


def load_references(reference_dir: Path) -> list[Reference]:
    """Every reference file in ``reference_dir``, sorted by path (none if the folder is absent)."""
    reference_dir = Path(reference_dir)
    if not reference_dir.is_dir():
        return []
    paths = sorted(p for p in reference_dir.iterdir() if p.suffix in {".yaml", ".yml", ".json"})
    return [load_reference(p) for p in paths]


def combined_rows(ref: Reference, stage: str) -> list[CombinedRow]:
    """Merge a stage's tables by row key (e.g. Table 1 + Table 2), keeping first-seen order.

    Where two tables both give a column (Math AVG), the first table's value wins unless it is
    flagged and the later one is not.
    """
    merged: dict[str, CombinedRow] = {}
    for table in ref.tables:
        if table.stage != stage:
            continue
        for row in table.rows:
            prev = merged.get(row.key)
            values = dict(prev.values) if prev else {}
            suspect = dict(prev.suspect) if prev else {}
            for col, value in row.values.items():
                keep_prev = col in values and not (col in suspect and col not in row.suspect)
                if keep_prev:
                    continue
                values[col] = value
                suspect.pop(col, None)
                if col in row.suspect:
                    suspect[col] = row.suspect[col]
            merged[row.key] = CombinedRow(row.key, row.model, row.method, values, suspect)
    return list(merged.values())


def stages(ref: Reference) -> list[str]:
    """The stages (e.g. ``rlpt``, ``rlvr``) in file order."""
    return list(dict.fromkeys(t.stage for t in ref.tables))


__all__ = [
    "COLUMNS",
    "CombinedRow",
    "RefRow",
    "RefTable",
    "Reference",
    "ReferenceError",
    "check_reference",
    "combined_rows",
    "load_reference",
    "load_references",
    "parse_reference",
    "single_sample_suspect",
    "stages",
]
