"""Benchmark loaders on our own fixture files (official schemas) and on the packaged offline copies.

GPQA-Diamond content is never printed or asserted on: only counts, ids and letters.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrainzero.eval.benchmarks import (
    BENCHMARKS,
    BenchmarkDataError,
    expected_files,
    load_benchmark,
)
from pretrainzero.eval.benchmarks.io import packaged_files

FIX = Path(__file__).parent / "fixtures" / "eval"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("PRETRAINZERO_DATA_DIR", raising=False)


EXPECTED = {  # benchmark -> (rows in fixture, first id, first gold answer)
    "mmlu_pro": (3, "1", "B"),
    "supergpqa": (3, "sg-0001", "A"),
    "bbeh": (3, "boolean_expressions/0", "yes"),
    "math500": (2, "test/prealgebra/0001.json", "\\frac{1}{2}"),
    "olympiadbench": (1, "9001", "3"),
    "minerva": (2, "0", "12000"),
    "gsm8k": (2, "0", "18"),
    "amc23": (1, "0", "27"),
    "aime24": (1, "60", "104"),
    "aime25": (3, "I-1", "70"),
    "mmlu": (2, "elementary mathematics/0", "C"),
    "gpqa_diamond": (3, "recFAKE0000", None),
}


def test_every_benchmark_has_a_fixture() -> None:
    assert set(EXPECTED) == set(BENCHMARKS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_loads_via_data_dir(name: str) -> None:
    n, first_id, first_answer = EXPECTED[name]
    bench = load_benchmark(name, FIX, check_rows=False, allow_hub=False)
    assert bench.source.startswith("data-dir:")
    assert len(bench.samples) == n
    assert bench.samples[0].id == first_id
    if first_answer is not None:
        assert bench.samples[0].answer == first_answer
    assert len(bench.sha256) == 64 and bench.files and all(len(sha) == 64 for _, sha in bench.files)
    assert any("row-count check disabled" in note for note in bench.notes)
    kind = BENCHMARKS[name].kind
    for s in bench.samples:
        if kind == "mcq":
            assert s.choices and s.answer in "ABCDEFGHIJ"[: len(s.choices)]
        else:
            assert s.choices is None and s.answer


def test_row_count_mismatch_is_an_error_by_default() -> None:
    with pytest.raises(BenchmarkDataError, match="official count is 500"):
        load_benchmark("math500", FIX, allow_hub=False)


def test_gold_parsing_details() -> None:
    gsm = load_benchmark("gsm8k", FIX, check_rows=False, allow_hub=False)
    assert [s.answer for s in gsm.samples] == ["18", "1200"]  # "#### 1,200" -> thousands comma dropped
    minerva = load_benchmark("minerva", FIX, check_rows=False, allow_hub=False)
    assert minerva.samples[1].answer == "\\frac{3}{4}"  # the LAST box of the solution
    mmlu_pro = load_benchmark("mmlu_pro", FIX, check_rows=False, allow_hub=False)
    assert len(mmlu_pro.fewshot) == 10 and mmlu_pro.fewshot[0].meta["cot_content"].startswith("A: Let's think")
    assert mmlu_pro.samples[2].choices[-1] == "N/A"  # loader keeps N/A; protocols decide
    mmlu = load_benchmark("mmlu", FIX, check_rows=False, allow_hub=False)
    assert any("stray header" in note for note in mmlu.notes)
    assert [s.category for s in mmlu.samples] == ["elementary mathematics", "geography"]
    bbeh = load_benchmark("bbeh", FIX, check_rows=False, allow_hub=False)
    assert [s.id for s in bbeh.samples][1:] == ["multistep_arithmetic/0", "multistep_arithmetic/1"]


def test_gpqa_shuffle_is_seeded_per_record() -> None:
    a = load_benchmark("gpqa_diamond", FIX, check_rows=False, allow_hub=False)
    b = load_benchmark("gpqa_diamond", FIX, check_rows=False, allow_hub=False)
    assert [(s.choices, s.answer) for s in a.samples] == [(s.choices, s.answer) for s in b.samples]
    # the correct answer (listed first in the file) is not always at A
    assert len({s.answer for s in a.samples}) > 1 or a.samples[0].answer != "A"


def test_parquet_and_snapshot_layout(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    snap = tmp_path / "datasets--TIGER-Lab--MMLU-Pro" / "snapshots" / ("ab" * 20) / "data"
    snap.mkdir(parents=True)
    for split, src in (("test", "test.jsonl"), ("validation", "validation.jsonl")):
        rows = [json.loads(line) for line in (FIX / "mmlu_pro" / src).read_text().splitlines()]
        pq.write_table(pa.Table.from_pylist(rows), snap / f"{split}-00000-of-00001.parquet")
    bench = load_benchmark("mmlu_pro", snap.parent, check_rows=False, allow_hub=False)
    assert bench.revision == "ab" * 20
    assert len(bench.samples) == 3 and len(bench.fewshot) == 10


def test_generic_file_at_data_dir_root_is_not_taken_for_every_benchmark(tmp_path: Path) -> None:
    (tmp_path / "test.jsonl").write_text('{"problem": "x", "answer": "1"}\n')
    with pytest.raises(BenchmarkDataError):
        load_benchmark("math500", tmp_path, check_rows=False, allow_hub=False)


def test_missing_benchmark_names_files_and_id(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkDataError) as err:
        load_benchmark("supergpqa", tmp_path, allow_hub=False)
    msg = str(err.value)
    assert "SuperGPQA-all.jsonl" in msg and "m-a-p/SuperGPQA" in msg and str(tmp_path) in msg
    assert "SuperGPQA-all.jsonl" in expected_files(BENCHMARKS["supergpqa"])


def test_schema_error_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "amc23").mkdir()
    (tmp_path / "amc23" / "test.jsonl").write_text('{"id": 1, "problem": "p"}\n')
    with pytest.raises(BenchmarkDataError, match="'answer'"):
        load_benchmark("amc23", tmp_path, check_rows=False, allow_hub=False)


def test_mmlu_pro_without_validation_split_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "mmlu_pro").mkdir()
    (tmp_path / "mmlu_pro" / "test.jsonl").write_text((FIX / "mmlu_pro" / "test.jsonl").read_text())
    with pytest.raises(BenchmarkDataError, match="validation"):
        load_benchmark("mmlu_pro", tmp_path, check_rows=False, allow_hub=False)


PACKAGED = {"gsm8k": 1319, "aime25": 30, "mmlu": 14042, "gpqa_diamond": 198}


@pytest.mark.parametrize("name", sorted(PACKAGED))
def test_packaged_copies_load_with_no_flag(name: str) -> None:
    if packaged_files(BENCHMARKS[name].packaged) is None:
        pytest.skip(f"packaged copy of {name} not installed")
    bench = load_benchmark(name, allow_hub=False)  # official row-count check is on
    assert bench.source.startswith("package:")
    assert not any("checked copy" in n for n in bench.notes), bench.notes  # the sha256 the module declares
    assert len(bench.samples) == PACKAGED[name]
    assert len({s.id for s in bench.samples}) == PACKAGED[name]
    if name == "gsm8k":
        assert all(s.answer.lstrip("-").replace(".", "").isdigit() for s in bench.samples)
    if name == "aime25":
        # integer answers; one upstream gold is written "336^\\circ" (Math-Verify still equates it with 336)
        assert sum(s.answer.isdigit() for s in bench.samples) >= 29
    if name in ("mmlu", "gpqa_diamond"):
        assert all(len(s.choices or ()) == 4 and s.answer in "ABCD" for s in bench.samples)


def test_hub_path_converts_hf_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    """The HF copies use other field names (cais/mmlu: choices + int answer; math-ai/aime25: problem)."""
    import pretrainzero.eval.benchmarks as bm

    calls: list[tuple[str, str | None, str]] = []
    tables = {
        ("cais/mmlu", "test"): [{"question": "Made-up?", "subject": "high_school_physics",
                                 "choices": ["a", "b", "c", "d"], "answer": 2}],
        ("math-ai/aime25", "test"): [{"id": "0", "problem": "Made-up: 1+1?", "answer": "2"}],
        ("TIGER-Lab/MMLU-Pro", "test"): [json.loads(x) for x in
                                         (FIX / "mmlu_pro" / "test.jsonl").read_text().splitlines()],
        ("TIGER-Lab/MMLU-Pro", "validation"): [json.loads(x) for x in
                                               (FIX / "mmlu_pro" / "validation.jsonl").read_text().splitlines()],
    }

    def fake(hf_id: str, config: str | None, split: str, revision: str | None):
        calls.append((hf_id, config, split))
        return tables[(hf_id, split)], "cd" * 20, "ef" * 32

    monkeypatch.setattr(bm, "load_hub_rows", fake)
    monkeypatch.setattr(bm, "packaged_files", lambda copy: None)  # force past the packaged copy
    mmlu = load_benchmark("mmlu", check_rows=False)
    assert mmlu.source == "hf:cais/mmlu/all:test" and mmlu.revision == "cd" * 20
    assert mmlu.samples[0].answer == "C" and mmlu.samples[0].category == "high school physics"
    assert load_benchmark("aime25", check_rows=False).samples[0].question == "Made-up: 1+1?"
    pro = load_benchmark("mmlu_pro", check_rows=False)
    assert len(pro.fewshot) == 10 and ("TIGER-Lab/MMLU-Pro", None, "validation") in calls
    with pytest.raises(BenchmarkDataError, match="official count is 14042"):
        load_benchmark("mmlu")


def test_data_dir_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRETRAINZERO_DATA_DIR", str(FIX))
    assert load_benchmark("amc23", check_rows=False, allow_hub=False).source.startswith("data-dir:")
