"""The paper's Tables 1-4 as reference data. Run: pytest tests/test_leaderboard_reference.py"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pretrainzero.leaderboard.aggregate import math_avg, overall_avg
from pretrainzero.leaderboard.reference import (
    ReferenceError,
    combined_rows,
    load_reference,
    load_references,
    parse_reference,
    single_sample_suspect,
)

ROOT = Path(__file__).resolve().parents[1]
REF_DIR = ROOT / "leaderboards" / "reference"
REF = REF_DIR / "pretrainzero-2512.03442.yaml"
PAPER_MD = ROOT.parent / "shared" / "reference" / "paper.md"


@pytest.fixture(scope="module")
def ref():
    return load_reference(REF)


def test_reference_loads_with_citation_and_claimed_protocol(ref):
    assert [r.source_id for r in load_references(REF_DIR)] == ["pretrainzero-2512.03442"]
    assert "2512.03442" in ref.citation and ref.url.endswith("2512.03442")
    assert ref.protocol_id == "pz-0shot-boxed" and "unverified" in ref.protocol_status
    assert [t.id for t in ref.tables] == ["table1", "table2", "table3", "table4"]


@pytest.mark.parametrize(
    "table, key, column, value",
    [
        ("table1", "qwen3-4b/pretrainzero", "mmlu_pro", 60.37),
        ("table1", "qwen3-8b/continue-pt", "mmlu_pro", 11.51),
        ("table1", "smollm3-3b/pretrainzero", "bbeh", 3.78),
        ("table2", "qwen3-4b/base", "minerva", 22.10),
        ("table2", "qwen3-30b-a3b/pretrainzero", "amc23", 70.62),
        ("table3", "qwen3-4b/pretrainzero2000+rlvr400", "overall_avg", 40.46),
        ("table4", "qwen3-4b/pretrainzero1000+rlvr400", "aime24", 11.13),
    ],
)
def test_transcribed_numbers_match_the_paper(ref, table, key, column, value):
    assert ref.cell(table, key, column) == value


def test_headline_deltas_reproduce(ref):
    # Paper: +8.43 MMLU-Pro, +5.96 SuperGPQA, +10.60 Math AVG for Qwen3-4B-Base.
    d = {
        c: ref.cell("table1", "qwen3-4b/pretrainzero", c) - ref.cell("table1", "qwen3-4b/base", c)
        for c in ("mmlu_pro", "supergpqa", "math_avg")
    }
    assert {c: round(v, 2) for c, v in d.items()} == {"mmlu_pro": 8.43, "supergpqa": 5.96, "math_avg": 10.60}


def test_aggregate_definitions_reproduce_table_rows(ref):
    [row] = [r for r in combined_rows(ref, "rlpt") if r.key == "qwen3-4b/base"]
    m = math_avg(row.values)
    assert not m.partial and round(m.value, 2) == 42.53
    o = overall_avg(row.values, m)
    assert not o.partial and round(o.value, 2) == 32.36


def test_suspect_flags(ref):
    flags = {(t.id, r.key, c): why for t in ref.tables for r in t.rows for c, why in r.suspect.items()}
    assert flags[("table2", "qwen3-8b/pretrainzero", "aime24")] == "single-sample"
    assert flags[("table2", "qwen3-4b/continue-pt", "amc23")] == "single-sample"
    # The Table 4 Random RLPT row is a copy of Table 2's pre-RLVR row (erratum): every cell flagged.
    t4 = ref.table("table4")
    [copied] = [r for r in t4.rows if r.key.startswith("qwen3-4b/random-rlpt")]
    [original] = [r for r in ref.table("table2").rows if r.key == "qwen3-4b/random-rlpt"]
    assert copied.values == original.values and set(copied.suspect.values()) == {"copy-error"}
    assert len(copied.suspect) == len(t4.columns)
    # MoE values look like real 32-sample means and zeros are ambiguous: not flagged.
    assert ("table2", "qwen3-30b-a3b/base", "aime24") not in flags
    assert ("table2", "qwen3-4b/base", "aime24") not in flags
    assert single_sample_suspect("aime24", 6.70) and not single_sample_suspect("aime24", 1.65)
    assert single_sample_suspect("amc23", 27.50) and not single_sample_suspect("amc23", 52.58)
    assert any("2.18" in e for e in ref.errata)


def _raw():
    return yaml.safe_load(REF.read_text())


def test_a_transcription_typo_fails_the_load():
    raw = _raw()
    raw["tables"][0]["rows"][4]["values"][4] = 63.07  # PretrainZero 4B MMLU-Pro 60.37 -> typo
    with pytest.raises(ReferenceError, match="qwen3-4b/pretrainzero: overall_avg"):
        parse_reference(raw, REF)


def test_an_unflagged_single_sample_cell_fails_the_load():
    raw = _raw()
    row = raw["tables"][1]["rows"][9]
    assert row["key"] == "qwen3-8b/pretrainzero"
    del row["suspect"]["aime24"]
    with pytest.raises(ReferenceError, match="aime24 20.0 looks single-sample"):
        parse_reference(raw, REF)


def test_cross_table_math_avg_mismatch_fails_unless_flagged():
    raw = _raw()
    del raw["tables"][3]["rows"][1]["suspect"]  # unflag the Table 4 copy error
    with pytest.raises(ReferenceError, match="math_avg 51.49 in table3 but 47.87 in table4"):
        parse_reference(raw, REF)


def _paper_tables(text: str) -> dict[str, list[list[str]]]:
    tables, current = {}, None
    for line in text.splitlines():
        m = re.match(r"### (Table \d)", line)
        if m:
            current = tables.setdefault(m.group(1), [])
        elif current is not None and line.startswith("|") and not line.startswith("|---"):
            current.append([c.strip().strip("*") for c in line.strip("|").split("|")])
        elif current is not None and line.startswith("#"):
            current = None
    return tables


@pytest.mark.skipif(not PAPER_MD.is_file(), reason="shared/reference/paper.md not present")
def test_every_cell_matches_paper_md(ref):
    paper = _paper_tables(PAPER_MD.read_text())
    for i, table in enumerate(ref.tables, start=1):
        rows = [r for r in paper[f"Table {i}"][1:]]  # drop the header row
        assert len(rows) == len(table.rows), table.id
        for ours, theirs in zip(table.rows, rows, strict=True):
            numbers = [float(x) for x in theirs[2:]]
            assert [ours.values[c] for c in table.columns] == numbers, (table.id, ours.key)
