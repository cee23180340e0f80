"""The results record: the typed contract below both the eval harness and the leaderboard.

``pretrainzero.eval`` builds and writes records, ``pretrainzero.leaderboard`` reads them; both
use :class:`ResultsRecord`, :func:`validate_record` and :func:`row_id` from here, and nothing
here imports either of them.

- ``ids``: ``slug``, ``row_id`` and ``subset_tag``.
- ``schema``: the frozen pydantic models, the cross-field and registry rules, the validator.
- ``lmeval``: the same run in lm-evaluation-harness's results shape, for tools built for lm-eval.
"""

from __future__ import annotations

from .ids import row_id, slug, subset_tag
from .schema import (
    SCHEMA_VERSION,
    BenchmarkFacts,
    Metrics,
    ProtocolFacts,
    RecordError,
    Registry,
    ResultsRecord,
    json_schema,
    parse_record,
    validate_record,
)

__all__ = [
    "SCHEMA_VERSION",
    "BenchmarkFacts",
    "Metrics",
    "ProtocolFacts",
    "RecordError",
    "Registry",
    "ResultsRecord",
    "json_schema",
    "parse_record",
    "row_id",
    "slug",
    "subset_tag",
    "validate_record",
]
