"""Rerun a leaderboard row from its stored config and compare the new score with the stored one.

The row's ``config`` is replayed through ``pretrainzero.eval.runner.run_eval(config, out_dir)``
(imported lazily, so the leaderboard works without the eval extras), narrowed to the row's own
benchmark. The verdict uses the record's explicit ``tolerance`` when it has one, else twice the
combined standard error ``2 * sqrt(se_stored^2 + se_new^2)``: two independent estimates of the same
accuracy differ by more than that only ~5% of the time.
"""

from __future__ import annotations

import copy
import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pretrainzero.errors import SetupError
from pretrainzero.record import Metrics, ResultsRecord, validate_record

# Config keys that `pretrainzero eval` takes as flags of the same name (hyphenated); the rest of
# the config is passed through run_eval unchanged and shown in the dry run as JSON.
_FLAG_KEYS = (
    "model_name", "backend", "base_url", "route", "data_dir", "limit", "k", "max_new_tokens", "batch_size",
    "dtype", "seed",
)  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    row_id: str
    stored: float
    new: float
    stored_stderr: float | None
    new_stderr: float | None
    tolerance: float | None
    tolerance_source: str  # "explicit", "2x combined stderr" or "none stated"
    same_items: bool  # False when --limit changed the evaluated subset

    @property
    def difference(self) -> float:
        return self.new - self.stored

    @property
    def within(self) -> bool | None:
        if self.tolerance is None:
            return None
        return abs(self.difference) <= self.tolerance + 1e-12

    def summary(self) -> str:
        def pct(x: float | None) -> str:
            return "n/a" if x is None else f"{100 * x:.2f}"

        lines = [
            f"row        {self.row_id}",
            f"stored     {pct(self.stored)} ± {pct(self.stored_stderr)}",
            f"new        {pct(self.new)} ± {pct(self.new_stderr)}",
            f"difference {100 * self.difference:+.2f} points",
        ]
        if self.tolerance is None:
            lines.append("tolerance  none stated (no stderr and no explicit tolerance): cannot judge")
        else:
            verdict = "WITHIN" if self.within else "OUTSIDE"
            lines.append(
                f"tolerance  {pct(self.tolerance)} points ({self.tolerance_source}): {verdict} tolerance"
            )
        if not self.same_items:
            lines.append(
                "note       --limit changed the evaluated items, so the scores are not strictly comparable"
            )
        return "\n".join(lines)


def reproduce_config(record: ResultsRecord, limit: int | None = None) -> dict[str, Any]:
    """The config to rerun: the stored one, narrowed to the row's benchmark, with ``limit`` overridden."""
    config = copy.deepcopy(record.to_dict()["config"])
    config["benchmarks"] = [record.benchmark]
    if limit is not None:
        if limit <= 0:
            raise ValueError(f"--limit must be positive, got {limit}")
        config["limit"] = limit
    return config


def eval_command(config: Mapping[str, Any], out_dir: str | None = None) -> str:
    """The equivalent ``pretrainzero eval`` command line for a config (for --dry-run and docs)."""
    args = [
        "pretrainzero",
        "eval",
        "--model",
        str(config["model"]),
        "--benchmarks",
        ",".join(config["benchmarks"]),
        "--protocol",
        str(config["protocol"]),
    ]
    for key in _FLAG_KEYS:
        if config.get(key) is not None:
            args += [f"--{key.replace('_', '-')}", str(config[key])]
    if out_dir:
        args += ["--out", out_dir]
    return shlex.join(args)


def tolerance_for(stored: ResultsRecord, new: Metrics) -> tuple[float | None, str]:
    """The stated tolerance (a fraction) and where it came from."""
    if stored.tolerance is not None:
        return stored.tolerance, "explicit"
    se1, se2 = stored.metrics.stderr, new.stderr
    if se1 is None or se2 is None:
        return None, "none stated"
    return 2 * math.sqrt(se1**2 + se2**2), "2x combined stderr"


def compare(stored: ResultsRecord, new: Metrics, same_items: bool = True) -> Comparison:
    """Compare a stored record with the metrics of a freshly produced one for the same row."""
    tol, source = tolerance_for(stored, new)
    return Comparison(stored.id, stored.metrics.score, new.score, stored.metrics.stderr, new.stderr, tol, source,
                      same_items)


def load_runner():
    """``pretrainzero.eval.runner.run_eval``, or a clear error naming what is missing."""
    try:
        from pretrainzero.eval.runner import run_eval
    except ImportError as exc:
        raise SetupError(
            "leaderboard reproduce needs pretrainzero.eval.runner.run_eval(config, out_dir) -> record, "
            f"which could not be imported ({exc}); install the eval extras (`pip install -e .[eval]`)"
        ) from exc
    return run_eval


def reproduce(record: ResultsRecord, out_dir: Path, limit: int | None = None) -> tuple[Comparison, list[str]]:
    """Rerun ``record``'s config; return the comparison and any schema problems of the new record."""
    run_eval = load_runner()
    config = reproduce_config(record, limit)
    new = run_eval(config, Path(out_dir))
    if not isinstance(new, Mapping) or "metrics" not in new:
        raise SetupError(f"run_eval returned {type(new).__name__}, expected a results record (dict)")
    if new.get("benchmark", record.benchmark) != record.benchmark:
        raise SetupError(f"run_eval returned a record for {new.get('benchmark')!r}, expected {record.benchmark!r}")
    try:
        metrics = Metrics.model_validate(new["metrics"])
    except ValidationError as exc:
        raise SetupError(f"run_eval returned a record without valid metrics ({exc.errors()[0]['msg']})") from None
    same_items = limit is None or limit == (record.config.model_extra or {}).get("limit")
    return compare(record, metrics, same_items), validate_record(new)
