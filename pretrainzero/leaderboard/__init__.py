"""Leaderboards: results records are the truth; Markdown and HTML are generated from them.

The record itself (its typed models, validator and ``row_id``) is :mod:`pretrainzero.record`,
below both this package and the eval harness that writes it.

- ``store``: load every record under ``leaderboards/results/`` (never dropping one), ``submit``.
- ``checks``: what ``submit`` checks: the record's registry rules (facts from
  :mod:`pretrainzero.eval.registry`) and that its model is loadable by others.
- ``reference``: the paper's Tables 1-4 with citation, claimed protocol and suspect flags.
- ``aggregate``: Math AVG / Overall AVG with partial sets labelled.
- ``table``, ``markdown``, ``html``, ``render``: one table per protocol, README.md and index.html.
- ``reproduce``: rerun a row's stored config and compare within its tolerance.
"""

from __future__ import annotations

from .store import DuplicateRecordError, InvalidRecordError, Record, Submitted, load_records, submit

__all__ = [
    "DuplicateRecordError",
    "InvalidRecordError",
    "Record",
    "Submitted",
    "load_records",
    "submit",
]
