"""The results record's JSON Schema: committed, current, valid draft 2020-12, and agreeing with the
pydantic models on the committed records and on broken ones.
Run: pytest tests/test_record_jsonschema.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from pretrainzero.cli import main
from pretrainzero.cli.leaderboard import schema_text
from pretrainzero.record import ResultsRecord

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "leaderboards" / "schema" / "results-record.v1.schema.json"
RECORDS = sorted((ROOT / "leaderboards" / "results").glob("*.json"))


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(COMMITTED.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_committed_schema_is_current():
    assert COMMITTED.read_text() == schema_text(), (
        "the record models changed: run `pretrainzero leaderboard schema --out "
        "leaderboards/schema/results-record.v1.schema.json` and commit it")


def test_cli_prints_the_same_schema(capsys, tmp_path):
    assert main(["leaderboard", "schema"]) == 0
    assert capsys.readouterr().out == schema_text()
    assert main(["leaderboard", "schema", "--out", str(tmp_path / "s" / "r.json")]) == 0
    assert (tmp_path / "s" / "r.json").read_text() == schema_text()


@pytest.mark.parametrize("path", RECORDS, ids=[p.stem for p in RECORDS])
def test_committed_records_pass_the_schema(validator, path):
    assert not [e.message for e in validator.iter_errors(json.loads(path.read_text()))]


def _set(record: dict, dotted: str, value) -> dict:
    out = copy.deepcopy(record)
    *parents, last = dotted.split(".")
    node = out
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return out


@pytest.mark.parametrize("dotted,value", [
    ("metrics.score", 1.5),              # out of range
    ("metrics.score", "0.3"),            # a string is not a number
    ("schema_version", 2),               # another schema
    ("metrics", KeyError),               # required section missing
    ("dataset.surprise", True),          # closed section
    ("benchmark", "GSM 8K"),             # not a benchmark id
])
def test_schema_and_models_reject_the_same_broken_records(validator, dotted, value):
    good = json.loads(RECORDS[0].read_text())
    bad = _set(good, dotted, value)
    assert list(validator.iter_errors(bad)), f"the schema accepted {dotted}={value!r}"
    with pytest.raises(ValidationError):
        ResultsRecord.model_validate(bad)
