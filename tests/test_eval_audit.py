"""`pretrainzero eval audit`: every item's own gold grades correct, another item's grades wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrainzero.cli import main
from pretrainzero.eval.audit import audit_benchmark, foreign_index
from pretrainzero.eval.benchmarks import BENCHMARKS, LoadedBenchmark, Sample, load_benchmark
from pretrainzero.eval.grade import shutdown_pool
from pretrainzero.eval.protocols import get_protocol

AUDIT_FIXTURES = Path(__file__).parent / "fixtures" / "audit"
OFFLINE = ("gsm8k", "aime25", "mmlu", "gpqa_diamond")  # data ships in installed packages
FIXTURE_BENCHES = ("math500", "minerva", "olympiadbench", "amc23", "aime24", "mmlu_pro", "supergpqa", "bbeh")


@pytest.fixture(scope="module", autouse=True)
def _pool_cleanup():
    yield
    shutdown_pool()


@pytest.mark.parametrize("name", OFFLINE)
def test_offline_benchmarks_self_grade_fully_without_false_accepts(name: str) -> None:
    bench = load_benchmark(name, allow_hub=False)  # every item, not a sample
    report = audit_benchmark(bench, get_protocol("pz-0shot-boxed"))
    assert report.n == BENCHMARKS[name].expected_rows
    assert report.failures == ()
    assert report.self_grade_rate == 1.0 and report.false_accept_rate == 0.0
    assert report.n_no_foreign == 0


@pytest.mark.parametrize("name", FIXTURE_BENCHES)
def test_official_schema_fixtures_with_hard_golds(name: str) -> None:
    """e-notation, currency, $,$ multi-answers, variables, units, intervals, tuples, degrees."""
    bench = load_benchmark(name, AUDIT_FIXTURES, check_rows=False, allow_hub=False)
    report = audit_benchmark(bench, get_protocol("pz-0shot-boxed"))
    assert [f.line() for f in report.failures] == []
    assert report.n == len(bench.samples) >= 4 and report.n_no_foreign == 0


def test_mmlu_pro_official_and_supergpqa_protocols_self_grade() -> None:
    mp = load_benchmark("mmlu_pro", AUDIT_FIXTURES, check_rows=False, allow_hub=False)
    assert audit_benchmark(mp, get_protocol("mmlu-pro-official")).ok
    sg = load_benchmark("supergpqa", AUDIT_FIXTURES, check_rows=False, allow_hub=False)
    for pid in ("supergpqa-official", "supergpqa-official-5shot"):
        assert audit_benchmark(sg, get_protocol(pid)).ok


def _loaded(samples: list[Sample]) -> LoadedBenchmark:
    return LoadedBenchmark(spec=BENCHMARKS["math500"], samples=tuple(samples), source="test", revision=None,
                           sha256="0" * 64)


def test_audit_reports_what_fails() -> None:
    """A gold the extractor cannot take back and two golds the grader equates are both listed."""
    samples = [Sample(id="unclosed", question="q", answer="\\frac{1}{2"),
               Sample(id="half", question="q", answer="0.5"),
               Sample(id="frac", question="q", answer="\\frac{1}{2}"),
               Sample(id="seven", question="q", answer="7")]
    report = audit_benchmark(_loaded(samples), get_protocol("pz-0shot-boxed"))
    lines = [f.line() for f in report.failures]
    assert any(line.startswith("unclosed [boxed]") for line in lines)
    # "0.5" and "\frac{1}{2}" are different strings for the same number: a reported false accept.
    assert any(line.startswith("half [foreign]") and "accepted" in line for line in lines)
    assert report.self_grade_rate < 1.0 and report.false_accept_rate > 0.0 and not report.ok


def test_foreign_index_skips_equal_golds() -> None:
    samples = [Sample(id=str(i), question="q", answer=a) for i, a in enumerate(["1", "1", "2", "$1$"])]
    assert foreign_index(samples) == [2, 2, 3, 2]  # "$1$" normalises to "1"
    assert foreign_index(samples[:2]) == [None, None]


def test_cli_audit_prints_rates_and_exit_status(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = main(["eval", "audit", "--benchmarks", "aime25,minerva", "--data-dir", str(AUDIT_FIXTURES), "--allow-partial"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "aime25" in out and "minerva" in out and out.count("self-grade 100.00%") == 2
    assert out.count("false-accept  0.00%") == 2
    bad = tmp_path / "math500"
    bad.mkdir()
    (bad / "test.jsonl").write_text(json.dumps({"problem": "p", "solution": "s", "answer": "\\frac{1}{2",
                                                "subject": "x", "level": 1, "unique_id": "u/1"}) + "\n")
    rc = main(["eval", "audit", "--benchmarks", "math500", "--data-dir", str(tmp_path), "--allow-partial"])
    out = capsys.readouterr().out
    assert rc == 1 and "FAIL u/1 [boxed]" in out


def test_cli_audit_bad_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "audit", "--benchmarks", "nosuch"]) == 2
    assert "unknown benchmark 'nosuch'" in capsys.readouterr().err
    assert main(["eval", "audit", "--benchmarks", "gsm8k", "--protocol", "mmlu-pro-official"]) == 2
    assert "does not cover" in capsys.readouterr().err
    # a mistyped --data-dir is an error, never a silent fallback to the packaged copy
    assert main(["eval", "audit", "--benchmarks", "gsm8k", "--data-dir", "/no/such/data-dir"]) == 2
    assert "--data-dir /no/such/data-dir does not exist" in capsys.readouterr().err
