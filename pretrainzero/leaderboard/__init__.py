"""Leaderboards: results records are the truth; Markdown and HTML are generated from them.

- ``schema``: the results record and ``validate_record`` (strict, field-named errors), ``row_id``.
- ``store``: load every record under ``leaderboards/results/`` (never dropping one), ``submit``.
- ``reference``: the paper's Tables 1-4 with citation, claimed protocol and suspect flags.
- ``aggregate``: Math AVG / Overall AVG with partial sets labelled.
- ``table``, ``markdown``, ``html``, ``render``: one table per protocol, README.md and index.html.
- ``reproduce``: rerun a row's stored config and compare within its tolerance.
"""

from __future__ import annotations

from .schema import REQUIRED_FIELDS, SCHEMA_VERSION, row_id, slug, validate_record
from .store import DuplicateRecordError, InvalidRecordError, Record, Submitted, load_records, submit

__all__ = [
    "DuplicateRecordError",
    "InvalidRecordError",
    "REQUIRED_FIELDS",
    "Record",
    "SCHEMA_VERSION",
    "Submitted",
    "load_records",
    "row_id",
    "slug",
    "submit",
    "validate_record",
]
