"""Regenerate ``leaderboards/README.md`` and ``leaderboards/index.html`` from the records.

``build`` is pure (records and references in, text out) and checks the one invariant that
matters: every record id appears in exactly one measured cell, so rendering can never drop or
duplicate a result. ``render`` loads the folder, builds, and writes both files atomically.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..fileio import atomic_write_text
from .html import render_html
from .markdown import render_markdown
from .reference import Reference, load_references
from .store import Record, load_records
from .table import protocol_tables, reference_tables


class RenderError(RuntimeError):
    """The rendered tables do not account for every record exactly once."""


@dataclass(frozen=True)
class Rendered:
    markdown: str
    html: str
    n_records: int
    n_cells: int
    n_tables: int


def build(
    records: Sequence[Record], references: Sequence[Reference], protocols_present: Sequence[str] = ()
) -> Rendered:
    """Render both documents; raise ``RenderError`` unless records in == measured cells out."""
    measured = protocol_tables(records)
    rendered_ids = Counter(rid for t in measured for rid in t.record_ids())
    wanted = Counter(r.id for r in records)
    if rendered_ids != wanted:
        missing = sorted((wanted - rendered_ids).elements())
        extra = sorted((rendered_ids - wanted).elements())
        raise RenderError(
            f"rendered cells do not match records: missing {missing}, unexpected/duplicated {extra}"
        )
    refs = [(ref, reference_tables(ref)) for ref in references]
    md = render_markdown(measured, refs, records, protocols_present)
    html = render_html(measured, refs, records, protocols_present)
    n_tables = len(measured) + sum(len(t) for _, t in refs)
    return Rendered(md, html, len(records), sum(rendered_ids.values()), n_tables)


def protocol_ids(root: Path) -> list[str]:
    folder = Path(root) / "protocols"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def build_from(root: Path) -> Rendered:
    """Load ``root/results`` and ``root/reference`` and build (nothing is written)."""
    root = Path(root)
    return build(load_records(root / "results"), load_references(root / "reference"), protocol_ids(root))


def render(root: Path) -> Rendered:
    """Build from ``root`` and write ``root/README.md`` and ``root/index.html``."""
    out = build_from(root)
    atomic_write_text(Path(root) / "README.md", out.markdown)
    atomic_write_text(Path(root) / "index.html", out.html)
    return out
