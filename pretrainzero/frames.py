"""Tidy pandas DataFrames of the suite's records, for notebooks.

* :func:`records_frame` — every leaderboard record (read as a typed
  :class:`~pretrainzero.record.ResultsRecord`), one row per model × benchmark × protocol version:
  score, stderr, miss and truncation rates, subset, deviations, flags, source.
* :func:`samples_frame` — a record's per-sample table (one row per generation).
* :func:`metrics_frame` — a training run's ``metrics.jsonl``, one row per step, nested fields
  flattened to ``a.b`` columns.

pandas is imported when a function is called, so importing this module costs nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RECORD_COLUMNS = (
    "id", "model", "benchmark", "protocol", "protocol_version", "score", "stderr", "miss_rate",
    "truncation_rate", "n_evaluated", "n_total", "subset", "deviations", "mostly_fallback", "local_only",
    "harmonic_mean", "source", "created_at",
)  # fmt: skip


def records_frame(results_dir: str | os.PathLike[str] = "leaderboards/results") -> Any:
    """All validated records under ``results_dir`` as a DataFrame (columns: :data:`RECORD_COLUMNS`)."""
    import pandas as pd

    from .leaderboard.store import load_records
    from .leaderboard.table import FALLBACK_MISS_RATE

    rows = []
    for r in (rec.record for rec in load_records(Path(results_dir))):
        m = r.metrics
        rows.append({
            "id": r.id, "model": r.model.name, "benchmark": r.benchmark, "protocol": r.protocol.id,
            "protocol_version": r.protocol.version, "score": m.score, "stderr": m.stderr,
            "miss_rate": m.miss_rate, "truncation_rate": m.truncation_rate,
            "n_evaluated": r.dataset.n_evaluated, "n_total": r.dataset.n_total,
            "subset": r.subset_label, "deviations": "; ".join(r.config.protocol_deviations) or None,
            "mostly_fallback": (m.miss_rate or 0.0) > FALLBACK_MISS_RATE,
            "local_only": r.model.local_only, "harmonic_mean": m.harmonic_mean,
            "source": r.source, "created_at": r.created_at,
        })
    return pd.DataFrame(rows, columns=list(RECORD_COLUMNS))


def samples_frame(record_path: str | os.PathLike[str]) -> Any:
    """The per-sample JSONL of the record at ``record_path`` as a DataFrame (one row per generation)."""
    import pandas as pd

    from .leaderboard.store import read_record

    path = Path(record_path)
    samples_file = read_record(path).record.samples_file
    if not samples_file:
        raise FileNotFoundError(f"{path}: the record has no samples file")
    samples = path.parent / samples_file
    if not samples.is_file():
        raise FileNotFoundError(f"{path}: samples file {samples} not found")
    return pd.read_json(samples, lines=True, dtype={"sample_id": str, "extracted": str, "answer": str})


def metrics_frame(run_dir: str | os.PathLike[str]) -> Any:
    """A training run's ``metrics.jsonl`` (``run_dir`` or the file itself), one row per step."""
    import pandas as pd

    path = Path(run_dir)
    if path.is_dir():
        path = path / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (pass a run folder or its metrics.jsonl)")
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} line {n}: not JSON ({exc.msg})") from exc
    return pd.json_normalize(rows)
