"""The leaderboard as data: tables of display cells built from records and reference files.

Both renderers (Markdown and HTML) draw from these frozen tables, so the rules live in one
place: one table per protocol id and version (a cell never mixes protocols), rows are models,
columns are the benchmarks present plus Math AVG and Overall AVG, partial aggregates and subset
cells carry labels, and every measured cell remembers the record id it came from so the caller
can prove that no record was dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pretrainzero.record import slug

from .aggregate import PAPER_BENCHMARKS, Aggregate, display_name, math_avg, overall_avg
from .reference import Reference, combined_rows, stages
from .store import Record

AGGREGATES: tuple[str, ...] = ("math_avg", "overall_avg")


@dataclass(frozen=True)
class Cell:
    """One displayed number (percent) with the labels that must travel with it."""

    value: float | None
    stderr: float | None = None
    flags: tuple[str, ...] = ()  # any of "subset", "deviates", "partial", "suspect", "fallback", "local"
    note: str = ""  # why the flags are there (subset label, "partial 2/6", suspect reason key)
    record_id: str | None = None
    miss_rate: float | None = None  # fractions; shown next to every measured score
    truncation_rate: float | None = None

    @property
    def text(self) -> str:
        if self.value is None:
            return ""
        return f"{self.value:.2f}"


@dataclass(frozen=True)
class Row:
    label: str
    cells: Mapping[str, Cell]


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    kind: str  # "measured" or "reference"
    protocol: str  # "pz-0shot-boxed v1" for measured tables; the claimed protocol for reference ones
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = field(default=())

    def record_ids(self) -> list[str]:
        return [c.record_id for r in self.rows for c in r.cells.values() if c.record_id is not None]


def _column_order(benchmarks: Iterable[str]) -> tuple[str, ...]:
    present = set(benchmarks)
    paper = [b for b in PAPER_BENCHMARKS if b in present]
    extra = sorted(present - set(PAPER_BENCHMARKS))
    return tuple(paper + extra)


def _aggregate_cell(agg: Aggregate) -> Cell:
    if agg.value is None:
        return Cell(None)
    return Cell(agg.value, flags=("partial",) if agg.partial else (), note=agg.label)


# A cell whose answers were mostly not extracted measures the fallback (a random letter, or 0), not the model.
FALLBACK_MISS_RATE = 0.5


def _measured_cell(rec: Record) -> Cell:
    stderr = None if rec.stderr is None else 100 * rec.stderr
    subset, deviations = rec.subset_label, rec.deviations
    miss, trunc = rec.record.metrics.miss_rate, rec.record.metrics.truncation_rate
    fallback = miss is not None and miss > FALLBACK_MISS_RATE
    local = rec.record.model.local_only
    flags = ((("subset",) if subset else ()) + (("deviates",) if deviations else ())
             + (("fallback",) if fallback else ()) + (("local",) if local else ()))
    notes = ([f"subset: {subset}"] if subset else []) + ([f"deviates: {'; '.join(deviations)}"] if deviations else [])
    if fallback and miss is not None:  # (fallback implies a rate; spelled out for the type checker)
        notes.append(f"{100 * miss:.0f}% of answers not extracted: the score is mostly the miss policy "
                     "(random letter or 0), not accuracy")
    if local:
        notes.append(f"model only on the submitter's machine ({rec.record.model.source}): not reproducible")
    harmonic = rec.record.metrics.harmonic_mean
    if harmonic is not None:
        notes.append(f"BBEH micro average over items shown (the number the paper and General-Reasoner report); "
                     f"BBEH's official headline, the adjusted harmonic mean over its tasks: {100 * harmonic:.2f}")
    return Cell(100 * rec.score, stderr, flags, "; ".join(notes), rec.id, miss, trunc)


def protocol_tables(records: Iterable[Record]) -> list[Table]:
    """One table per (protocol id, version, subset), rows = models, sorted by protocol then model name.

    Records evaluated on different item sets (the full benchmark, its first 100, a seeded sample)
    go to different tables, so no column puts numbers of two item sets side by side.
    """
    groups: dict[tuple[str, int, str], list[Record]] = {}
    for rec in records:
        groups.setdefault((*rec.protocol, rec.subset_label or ""), []).append(rec)
    tables = []
    for (pid, version, subset), recs in sorted(groups.items()):
        columns = _column_order(r.benchmark for r in recs)
        by_model: dict[str, dict[str, Record]] = {}
        for rec in recs:
            model_recs = by_model.setdefault(rec.model, {})
            if rec.benchmark in model_recs:  # ids are unique per (model, benchmark, protocol id): cannot happen
                raise ValueError(
                    f"two records for {rec.model}/{rec.benchmark} under {pid}: "
                    f"{model_recs[rec.benchmark].id}, {rec.id}"
                )
            model_recs[rec.benchmark] = rec
        rows, notes = [], []
        for model in sorted(by_model, key=str.lower):
            cells: dict[str, Cell] = {b: _measured_cell(r) for b, r in by_model[model].items()}
            if not subset:  # an aggregate over subsets of benchmarks is not the paper's aggregate
                scores = {b: c.value for b, c in cells.items() if c.value is not None}
                m = math_avg(scores)
                cells["math_avg"] = _aggregate_cell(m)
                cells["overall_avg"] = _aggregate_cell(overall_avg(scores, m))
            kinds = [k for k in ("subset", "deviates", "fallback", "local")
                     if any(k in c.flags for c in cells.values())]
            label = f"{model} ({', '.join(kinds)})" if kinds else model
            rows.append(Row(label, cells))
            notes += [
                f"{model} / {display_name(b)}: {c.note}"
                for b, c in sorted(cells.items())
                if c.record_id and c.note
            ]
        tables.append(
            Table(
                id=f"protocol-{pid}-v{version}" + (f"-subset-{slug(subset)}" if subset else ""),
                title=f"Protocol {pid} v{version}" + (f" — subset: {subset}" if subset else " — full benchmarks"),
                kind="measured",
                protocol=f"{pid} v{version}",
                columns=columns + (() if subset else AGGREGATES),
                rows=tuple(rows),
                notes=tuple(notes),
            )
        )
    return tables


_STAGE_TITLES = {"rlpt": "after RL pretraining", "rlvr": "after RLVR post-training"}


def reference_tables(ref: Reference) -> list[Table]:
    """The paper's tables merged per stage (Table 1 + 2, Table 3 + 4), one table per base model."""
    out = []
    for stage in stages(ref):
        numbers = "+".join(t.id.removeprefix("table") for t in ref.tables if t.stage == stage)
        rows = combined_rows(ref, stage)
        by_model: dict[str, list] = {}
        for row in rows:
            by_model.setdefault(row.model, []).append(row)
        for model, model_rows in by_model.items():
            present = {c for r in model_rows for c in r.values} - set(AGGREGATES)
            columns = _column_order(present) + tuple(
                a for a in AGGREGATES if any(a in r.values for r in model_rows)
            )
            table_rows = []
            for r in model_rows:
                cells = {}
                for col in columns:
                    reason = r.suspect.get(col)
                    # The note is the reason key; renderers map it to a mark and its explanation.
                    cells[col] = Cell(
                        r.values.get(col), flags=("suspect",) if reason else (), note=reason or ""
                    )
                table_rows.append(Row(r.method, cells))
            stage_title = _STAGE_TITLES.get(stage, stage)
            out.append(
                Table(
                    id=f"ref-{ref.source_id}-{stage}-{slug(model)}",
                    kind="reference",
                    title=f"{model} {stage_title} ({ref.short}, Tables {numbers})",
                    protocol=f"{ref.protocol_id} ({ref.protocol_status})",
                    columns=columns,
                    rows=tuple(table_rows),
                    notes=tuple(
                        f"{display_name(c)}: {n}" for c, n in ref.column_notes.items() if c in columns
                    ),
                )
            )
    return out
