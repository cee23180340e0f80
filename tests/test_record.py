"""The typed results record: import direction, committed records, declared rules and registry rules."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from pretrainzero.record import (
    BenchmarkFacts,
    ProtocolFacts,
    RecordError,
    Registry,
    ResultsRecord,
    parse_record,
    validate_record,
)

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "pretrainzero"
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "leaderboard" / "record.json").read_text())


def _imports(path: Path) -> set[str]:
    """Absolute module names ``path`` imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def test_import_direction_eval_and_leaderboard_meet_only_in_record() -> None:
    def offenders(folder: Path, banned: tuple[str, ...]) -> list[str]:
        return sorted(f"{p.relative_to(ROOT)} imports {m}" for p in folder.rglob("*.py") for m in _imports(p)
                      if any(m == b or m.startswith(b + ".") for b in banned))

    assert _imports(PKG / "eval" / "results.py") >= {"pretrainzero.record"}  # the scanner sees relative imports
    assert offenders(PKG / "eval", ("pretrainzero.leaderboard",)) == []
    # The record is below both: it imports neither, nor anything else of the package but itself.
    banned = ("pretrainzero.eval", "pretrainzero.leaderboard", "pretrainzero.cli", "pretrainzero.frames")
    assert offenders(PKG / "record", banned) == []


def test_every_committed_record_loads_and_round_trips_exactly() -> None:
    files = sorted((ROOT / "leaderboards" / "results").glob("*.json"))
    assert files
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = parse_record(data)
        assert record.schema_version == 1 and record.to_dict() == data, path.name


def test_types_are_strict_and_sections_closed_or_open_as_declared() -> None:
    record = parse_record(FIXTURE)
    assert isinstance(record, ResultsRecord) and record.metrics.score == 0.03
    with pytest.raises(ValidationError, match="frozen"):
        record.metrics.score = 1.0  # type: ignore[misc]
    # Open sections keep what they do not name (the runner's config, extra metrics) and write it back.
    extra = parse_record({**FIXTURE, "metrics": {**FIXTURE["metrics"], "score_misses_wrong": 0.02, "custom": 7}})
    assert extra.metrics.score_misses_wrong == 0.02 and extra.to_dict()["metrics"]["custom"] == 7
    cases = {
        "metrics.score": {**FIXTURE, "metrics": {**FIXTURE["metrics"], "score": float("nan")}},
        "protocol.version": {**FIXTURE, "protocol": {"id": "pz-0shot-boxed", "version": True}},
        "dataset.n_total": {**FIXTURE, "dataset": {**FIXTURE["dataset"], "n_total": "1319"}},
        "dataset.extra": {**FIXTURE, "dataset": {**FIXTURE["dataset"], "extra": 1}},  # closed section
        "schema_version": {**FIXTURE, "schema_version": 2},
        "git_commit": {**FIXTURE, "git_commit": "not-a-hash"},
    }
    for field, data in cases.items():
        assert any(p.startswith(f"{field}:") for p in validate_record(data)), field
    with pytest.raises(RecordError) as info:
        parse_record([])
    assert info.value.problems[0].startswith("record:")


def test_version_one_records_keep_their_legacy_id() -> None:
    assert validate_record(FIXTURE) == []  # id without "-v1", written before versions joined ids
    v2 = {**FIXTURE, "protocol": {"id": "pz-0shot-boxed", "version": 2}}
    assert [p for p in validate_record(v2) if p.startswith("id:")]
    assert validate_record({**v2, "id": FIXTURE["id"] + "-v2"}) == []


def _registry(expected_rows: int | None = 1319, packaged: tuple[str, str] | None = None) -> Registry:
    return Registry(
        protocols={"pz-0shot-boxed": ProtocolFacts(versions=(1, 2), benchmarks=("gsm8k", "aime25")),
                   "mcq-only": ProtocolFacts(versions=(1,), benchmarks=("mmlu",))},
        benchmarks={"gsm8k": BenchmarkFacts(expected_rows=expected_rows, packaged=lambda: packaged),
                    "aime25": BenchmarkFacts(expected_rows=30, packaged=lambda: None),
                    "mmlu": BenchmarkFacts(expected_rows=None, packaged=lambda: None)},
    )


@pytest.mark.parametrize(("changes", "field", "needle"), [
    ({"protocol": {"id": "nosuch", "version": 1}, "config": {**FIXTURE["config"], "protocol": "nosuch"},
      "id": "smollm2-135m-instruct__gsm8k__nosuch"}, "protocol.id", "unknown protocol 'nosuch'"),
    ({"protocol": {"id": "pz-0shot-boxed", "version": 99}, "id": FIXTURE["id"] + "-v99"},
     "protocol.version", "has no version 99 (versions: 1, 2)"),
    ({"benchmark": "nosuch", "config": {**FIXTURE["config"], "benchmarks": ["nosuch"]},
      "id": "smollm2-135m-instruct__nosuch__pz-0shot-boxed"}, "benchmark", "unknown benchmark 'nosuch'"),
    ({"protocol": {"id": "mcq-only", "version": 1}, "config": {**FIXTURE["config"], "protocol": "mcq-only"},
      "id": "smollm2-135m-instruct__gsm8k__mcq-only"}, "benchmark", "does not cover gsm8k (it covers mmlu)"),
    ({"subset": None, "dataset": {**FIXTURE["dataset"], "n_total": 2, "n_evaluated": 2}},
     "dataset.n_total", "gsm8k has 1319 items, the record says 2"),
])
def test_registry_rules_name_the_field(changes: dict, field: str, needle: str) -> None:
    data = {**FIXTURE, **changes}
    assert validate_record(data) == []  # well formed; only the registry knows better
    problems = validate_record(data, _registry())
    assert len(problems) == 1 and problems[0].startswith(f"{field}: ") and needle in problems[0], problems


def test_registry_rules_on_data_files() -> None:
    partial = {**FIXTURE, "dataset": {**FIXTURE["dataset"], "n_total": 200},
               "config": {**FIXTURE["config"], "allow_partial": True}}
    assert validate_record(partial, _registry()) == []  # a custom file run with --allow-partial, labelled a subset
    as_full = {**partial, "subset": None, "dataset": {**partial["dataset"], "n_evaluated": 200}}
    assert [p for p in validate_record(as_full) if p.startswith("subset: null but the run used a partial/custom file")]
    no_official_count = {**FIXTURE, "dataset": {**FIXTURE["dataset"], "n_total": 700}}
    assert validate_record(no_official_count, _registry(None)) == []
    source = FIXTURE["dataset"]["source"]
    assert validate_record(FIXTURE, _registry(packaged=(source, FIXTURE["dataset"]["sha256"]))) == []
    [problem] = validate_record(FIXTURE, _registry(packaged=(source, "f" * 64)))
    assert problem.startswith("dataset.sha256: ") and "f" * 64 in problem
    assert validate_record(FIXTURE, _registry(packaged=("another copy", "f" * 64))) == []  # another source: no claim
