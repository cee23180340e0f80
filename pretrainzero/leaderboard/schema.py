"""The results record: one JSON file per (model, benchmark, protocol) evaluation, and its validator.

Records are the leaderboard's only source of truth; Markdown and HTML are generated from them.
Scores are stored as raw fractions in [0, 1] (as lm-eval does) and displayed as percentages.
``validate_record`` is strict: it returns one message per problem, each naming the field path,
so a bad file fails loudly instead of being silently skipped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..record import SCHEMA_VERSION, row_id, slug

__all__ = ["SCHEMA_VERSION", "row_id", "slug", "validate_record"]

REQUIRED_FIELDS: tuple[str, ...] = (
    "schema_version",
    "id",
    "model",
    "benchmark",
    "subset",
    "protocol",
    "config",
    "dataset",
    "decoding",
    "engine",
    "versions",
    "git_commit",
    "metrics",
    "per_category",
    "samples_file",
    "created_at",
    "source",
)
# Optional top-level fields. `tolerance` (a fraction) overrides the 2x-combined-stderr rule used by
# `leaderboard reproduce`; `notes` is free text shown nowhere but kept with the record.
OPTIONAL_FIELDS: tuple[str, ...] = ("tolerance", "notes")
SOURCES: tuple[str, ...] = ("measured", "imported")

_BENCHMARK_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_PROTOCOL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _is_fraction(v: Any) -> bool:
    return _is_num(v) and 0.0 <= v <= 1.0


def _check_keys(
    obj: Mapping[str, Any],
    path: str,
    required: tuple[str, ...],
    errors: list[str],
    optional: tuple[str, ...] = (),
    closed: bool = True,
) -> None:
    for key in required:
        if key not in obj:
            errors.append(f"{path}{key}: missing")
    if closed:
        allowed = set(required) | set(optional)
        for key in obj:
            if key not in allowed:
                errors.append(f"{path}{key}: unknown field (allowed: {', '.join(sorted(allowed))})")


def _expect(cond: bool, field: str, what: str, value: Any, errors: list[str]) -> bool:
    if not cond:
        errors.append(f"{field}: expected {what}, got {value!r}")
    return cond


def _section(record: Mapping[str, Any], name: str, errors: list[str]) -> Mapping[str, Any] | None:
    value = record.get(name)
    if name in record and not isinstance(value, Mapping):
        errors.append(f"{name}: expected an object, got {value!r}")
        return None
    return value if isinstance(value, Mapping) else None


def validate_record(record: Any) -> list[str]:
    """Return every schema problem of a results record (an empty list means valid).

    Each message starts with the dotted field path, e.g. ``metrics.score: expected a number in
    [0, 1], got 1.5``.
    """
    if not isinstance(record, Mapping):
        return [f"record: expected a JSON object, got {type(record).__name__}"]
    errors: list[str] = []
    _check_keys(record, "", REQUIRED_FIELDS, errors, OPTIONAL_FIELDS)
    if "schema_version" in record:
        _expect(
            record["schema_version"] == SCHEMA_VERSION,
            "schema_version",
            f"{SCHEMA_VERSION}",
            record["schema_version"],
            errors,
        )

    model = _section(record, "model", errors)
    if model is not None:
        _check_keys(model, "model.", ("name", "source", "sha256"), errors, optional=("local_only",))
        _expect(isinstance(model.get("local_only", False), bool), "model.local_only", "true or false",
                model.get("local_only"), errors)
        _expect(
            isinstance(model.get("name"), str) and model.get("name", "").strip() != "",
            "model.name",
            "a non-empty string",
            model.get("name"),
            errors,
        )
        _expect(isinstance(model.get("source"), str), "model.source", "a string", model.get("source"), errors)
        _expect(
            model.get("sha256") is None or isinstance(model.get("sha256"), str),
            "model.sha256",
            "a string or null",
            model.get("sha256"),
            errors,
        )

    bench = record.get("benchmark")
    if "benchmark" in record:
        _expect(
            isinstance(bench, str) and bool(_BENCHMARK_RE.match(bench)),
            "benchmark",
            "a lower-case id like 'gsm8k'",
            bench,
            errors,
        )

    protocol = _section(record, "protocol", errors)
    if protocol is not None:
        _check_keys(protocol, "protocol.", ("id", "version"), errors)
        pid = protocol.get("id")
        _expect(
            isinstance(pid, str) and bool(_PROTOCOL_RE.match(pid)),
            "protocol.id",
            "a protocol id like 'pz-0shot-boxed'",
            pid,
            errors,
        )
        _expect(
            _is_int(protocol.get("version")) and protocol.get("version", 0) >= 1,
            "protocol.version",
            "an integer >= 1",
            protocol.get("version"),
            errors,
        )

    if "id" in record:
        rid = record["id"]
        if _expect(isinstance(rid, str) and rid != "", "id", "a non-empty string", rid, errors):
            parts = (
                (model or {}).get("name"),
                bench if isinstance(bench, str) and _BENCHMARK_RE.match(bench) else None,
                (protocol or {}).get("id"),
            )
            expected = None  # when a part is invalid it is already reported; no second message
            version = (protocol or {}).get("version")
            name, bench_id, proto_id = parts
            if (isinstance(name, str) and isinstance(bench_id, str) and isinstance(proto_id, str)
                    and all(p.strip() for p in (name, bench_id, proto_id)) and _is_int(version)):
                try:
                    expected = row_id(name, bench_id, proto_id, version)
                    # Records written before the version joined the id stay valid under version 1.
                    legacy = row_id(name, bench_id, proto_id) if version == 1 else None
                except ValueError as exc:
                    errors.append(f"model.name: {exc}")
            if expected is not None and rid not in (expected, legacy):
                errors.append(f"id: expected {expected!r} (slug(model)__benchmark__protocol-v<version>), got {rid!r}")

    dataset = _section(record, "dataset", errors)
    n_total = n_eval = None
    if dataset is not None:
        _check_keys(dataset, "dataset.", ("source", "revision", "sha256", "n_total", "n_evaluated"), errors)
        _expect(
            isinstance(dataset.get("source"), str),
            "dataset.source",
            "a string",
            dataset.get("source"),
            errors,
        )
        for key in ("revision", "sha256"):
            _expect(
                dataset.get(key) is None or isinstance(dataset.get(key), str),
                f"dataset.{key}",
                "a string or null",
                dataset.get(key),
                errors,
            )
        if _expect(
            _is_int(dataset.get("n_total")) and dataset["n_total"] > 0,
            "dataset.n_total",
            "a positive integer",
            dataset.get("n_total"),
            errors,
        ):
            n_total = dataset["n_total"]
        if _expect(
            _is_int(dataset.get("n_evaluated")) and dataset["n_evaluated"] > 0,
            "dataset.n_evaluated",
            "a positive integer",
            dataset.get("n_evaluated"),
            errors,
        ):
            n_eval = dataset["n_evaluated"]
        if n_total is not None and n_eval is not None and n_eval > n_total:
            errors.append(f"dataset.n_evaluated: {n_eval} exceeds dataset.n_total {n_total}")

    if "subset" in record:
        subset = record["subset"]
        if subset is None:
            # Partial data must never pass for a full-benchmark number.
            if n_total is not None and n_eval is not None and n_eval < n_total:
                errors.append(
                    f"subset: null but only {n_eval} of {n_total} items were evaluated;"
                    " give {'limit': N, 'label': '...'}"
                )
        elif _expect(isinstance(subset, Mapping), "subset", "null or an object", subset, errors):
            _check_keys(subset, "subset.", ("limit", "label"), errors, optional=("seed",))
            _expect(
                _is_int(subset.get("limit")) and subset.get("limit", 0) > 0,
                "subset.limit",
                "a positive integer",
                subset.get("limit"),
                errors,
            )
            _expect(
                isinstance(subset.get("label"), str) and subset.get("label", "").strip() != "",
                "subset.label",
                "a non-empty string",
                subset.get("label"),
                errors,
            )

    config = _section(record, "config", errors)
    if config is not None:
        _check_keys(config, "config.", ("model", "benchmarks", "protocol"), errors, closed=False)
        benches: Any = config.get("benchmarks")  # JSON, checked just below
        if _expect(
            isinstance(benches, list) and all(isinstance(b, str) for b in benches),
            "config.benchmarks",
            "a list of benchmark ids",
            benches,
            errors,
        ):
            if isinstance(bench, str) and bench not in benches:
                errors.append(f"config.benchmarks: {benches!r} does not contain benchmark {bench!r}")
        if protocol is not None and "protocol" in config and config["protocol"] != protocol.get("id"):
            errors.append(
                f"config.protocol: {config['protocol']!r} differs from protocol.id {protocol.get('id')!r}"
            )

    decoding = _section(record, "decoding", errors)
    if decoding is not None:
        _check_keys(
            decoding,
            "decoding.",
            ("temperature", "top_p", "max_new_tokens", "k", "seed"),
            errors,
            closed=False,
        )
        _expect(
            _is_num(decoding.get("temperature")) and decoding["temperature"] >= 0,
            "decoding.temperature",
            "a number >= 0",
            decoding.get("temperature"),
            errors,
        )
        _expect(
            _is_fraction(decoding.get("top_p")),
            "decoding.top_p",
            "a number in [0, 1]",
            decoding.get("top_p"),
            errors,
        )
        for key in ("max_new_tokens", "k"):
            _expect(
                _is_int(decoding.get(key)) and decoding[key] >= 1,
                f"decoding.{key}",
                "an integer >= 1",
                decoding.get(key),
                errors,
            )
        _expect(
            decoding.get("seed") is None or _is_int(decoding.get("seed")),
            "decoding.seed",
            "an integer or null",
            decoding.get("seed"),
            errors,
        )

    engine = _section(record, "engine", errors)
    if engine is not None:
        _check_keys(engine, "engine.", ("backend", "versions"), errors, closed=False)
        _expect(
            isinstance(engine.get("backend"), str),
            "engine.backend",
            "a string",
            engine.get("backend"),
            errors,
        )
        ev = engine.get("versions")
        _expect(
            isinstance(ev, Mapping) and all(isinstance(v, str) for v in ev.values()),
            "engine.versions",
            "an object of name -> version string",
            ev,
            errors,
        )

    versions = _section(record, "versions", errors)
    if versions is not None:
        _check_keys(versions, "versions.", ("pretrainzero", "python"), errors, closed=False)
        for key in ("pretrainzero", "python"):
            _expect(
                isinstance(versions.get(key), str), f"versions.{key}", "a string", versions.get(key), errors
            )

    if "git_commit" in record:
        gc = record["git_commit"]
        _expect(
            gc is None or (isinstance(gc, str) and re.fullmatch(r"[0-9a-f]{7,40}(-dirty)?", gc) is not None),
            "git_commit",
            "a hex commit hash or null",
            gc,
            errors,
        )

    metrics = _section(record, "metrics", errors)
    if metrics is not None:
        _check_keys(
            metrics, "metrics.", ("score", "stderr", "miss_rate", "truncation_rate"), errors, closed=False
        )
        _expect(
            _is_fraction(metrics.get("score")),
            "metrics.score",
            "a number in [0, 1]",
            metrics.get("score"),
            errors,
        )
        _expect(
            metrics.get("stderr") is None or (_is_num(metrics["stderr"]) and metrics["stderr"] >= 0),
            "metrics.stderr",
            "a number >= 0 or null",
            metrics.get("stderr"),
            errors,
        )
        for key in ("miss_rate", "truncation_rate"):
            _expect(
                metrics.get(key) is None or _is_fraction(metrics[key]),
                f"metrics.{key}",
                "a number in [0, 1] or null",
                metrics.get(key),
                errors,
            )

    per_cat = _section(record, "per_category", errors)
    if per_cat is not None:
        for cat, cell in per_cat.items():
            if not isinstance(cell, Mapping):
                errors.append(f"per_category.{cat}: expected an object, got {cell!r}")
                continue
            _check_keys(cell, f"per_category.{cat}.", ("score", "n"), errors, closed=False)
            _expect(
                _is_fraction(cell.get("score")),
                f"per_category.{cat}.score",
                "a number in [0, 1]",
                cell.get("score"),
                errors,
            )
            _expect(
                _is_int(cell.get("n")) and cell["n"] >= 0,
                f"per_category.{cat}.n",
                "an integer >= 0",
                cell.get("n"),
                errors,
            )

    if "samples_file" in record:
        sf = record["samples_file"]
        if sf is not None:
            ok = (
                isinstance(sf, str)
                and sf != ""
                and not sf.startswith(("/", "\\"))
                and ".." not in sf.split("/")
            )
            _expect(ok, "samples_file", "a relative path without '..' or null", sf, errors)

    if "created_at" in record:
        ca = record["created_at"]
        try:
            ok = (
                isinstance(ca, str)
                and ca.endswith("Z")
                and datetime.fromisoformat(ca[:-1] + "+00:00") is not None
            )
        except ValueError:
            ok = False
        _expect(ok, "created_at", "an ISO-8601 UTC time like '2026-11-25T22:00:00Z'", ca, errors)

    if "source" in record:
        _expect(record["source"] in SOURCES, "source", f"one of {SOURCES}", record["source"], errors)
    if "tolerance" in record:
        _expect(
            _is_fraction(record["tolerance"]),
            "tolerance",
            "a fraction in [0, 1]",
            record["tolerance"],
            errors,
        )
    return errors
