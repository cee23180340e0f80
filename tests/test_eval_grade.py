"""Graders (Math-Verify pool, BBEH fuzzy match) and aggregates."""

from __future__ import annotations

import time

import pytest

from pretrainzero.eval import aggregate as agg
from pretrainzero.eval.benchmarks import Sample, bbeh
from pretrainzero.eval.grade import (
    grade_bbeh,
    grade_math,
    grade_math_batch,
    normalize_answer,
    plain_number,
    run_guarded,
    shutdown_pool,
)
from pretrainzero.eval.protocols import get_protocol


def _sleepy(seconds: float, value: int) -> int:
    """Stands in for a grader stuck in C code: only a hard kill stops it."""
    time.sleep(seconds)
    return value


@pytest.fixture(scope="module", autouse=True)
def _pool_cleanup():
    yield
    shutdown_pool()


MATH_CASES = [
    ("\\frac{1}{2}", "0.5", True),
    ("0.5", "\\frac{1}{2}", True),
    ("\\dfrac12", "\\frac{1}{2}", True),
    ("27", "27.0", True),
    ("18", "18", True),
    ("19", "18", False),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("(3, \\pi/2)", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("336", "336^\\circ", True),
    ("x^2+2x+1", "(x+1)^2", True),
    ("\\sqrt{2}", "1.41", False),
    ("18 dollars", "18", True),  # clean_prediction: trailing plain-word unit
    ("\\$18.00", "18", True),  # escaped dollar
    ("$18", "18", True),  # unpaired $ from "The answer is $18."
    ("18 dollars", "19", False),
    # grader v2: the same normalisation on both sides (issue 10's classes), and nothing looser
    ("4.5 \\times 10^{33}", "4.5e33", True),  # e-notation gold (Minerva), not Euler's e
    ("4.5e33", "4.5 \\times 10^{33}", True),
    ("10^{-5}", "1e-5", True),
    ("4.6 \\times 10^{33}", "4.5e33", False),
    ("1.38 \\times 10^{-23}", "6.6e-34", False),  # Math-Verify alone rounds both to 0
    ("0.0000002", "0.0000001", False),
    ("32348", "\\$32,\\!348", True),  # currency gold (MATH-500)
    ("\\$32,348", "\\$32,\\!348", True),
    ("32349", "\\$32,\\!348", False),
    ("x=3, x=-3", "x=3$,$x=-3", True),  # OlympiadBench multi-answer joined with $,$
    ("x=-3, x=3", "x=3$,$x=-3", True),
    ("x=3", "x=3$,$x=-3", False),
    ("3n", "3 n", True),  # a single letter is a variable, not a unit
    ("3 n", "3 n", True),
    ("3", "3 n", False),
    ("3 n", "3", False),
    ("5 cm", "5", True),
    ("[2,5]", "[2,5)", False),  # intervals keep their brackets
    ("(2,1)", "(1,2)", False),
    ("60^{\\circ}", "60^\\circ", True),
]


@pytest.mark.parametrize(
    ("text", "normalised"),
    [("\\$32,\\!348", "32,\\!348"), ("x=3$, $x=-3", "x=3, x=-3"), ("4.5e33", "4.5\\times 10^{33}"),
     ("1e-5", "1\\times 10^{-5}"), ("3.0E+8", "3.0\\times 10^{8}"), ("3 n", "3 n"), ("18 dollars", "18"),
     ("x^2e3", "x^2e3"), ("2e", "2e"), ("e^{2}", "e^{2}")],
)
def test_normalize_answer(text: str, normalised: str) -> None:
    assert normalize_answer(text) == normalised


def test_plain_number_reads_only_plain_numbers() -> None:
    assert plain_number("32,\\!348") == 32348
    assert plain_number("4.5\\times 10^{33}") == pytest.approx(4.5e33)
    assert plain_number("7.2 \\text{ m}") == pytest.approx(7.2)
    assert plain_number("1,2") is None and plain_number("x") is None and plain_number("\\frac{1}{2}") is None


def test_grader_workers_that_cannot_start_stop_the_run(tmp_path) -> None:
    """A script without a __main__ guard makes every spawned worker die on start-up; the run must
    stop with GraderUnavailable, quickly, instead of grading every item wrong after timeouts."""
    import os
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text("from pretrainzero.eval.grade import grade_math\nprint('VERDICT', grade_math('1', '1'))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path)
    assert proc.returncode != 0
    assert "GraderUnavailable" in proc.stderr and "__main__" in proc.stderr
    assert "VERDICT" not in proc.stdout
    assert time.perf_counter() - start < 120


def test_missing_math_verify_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from pretrainzero.eval import grade

    shutdown_pool()
    real = importlib.util.find_spec
    monkeypatch.setattr(grade.importlib.util, "find_spec",
                        lambda name, *a: None if name == "math_verify" else real(name, *a))
    with pytest.raises(grade.GraderUnavailable, match="math_verify"):
        grade_math_batch(["1"], ["1"])


def test_grade_math_batch_cases() -> None:
    preds = [p for p, _, _ in MATH_CASES] + [None, "", "garbage {{{"]
    golds = [g for _, g, _ in MATH_CASES] + ["1", "1", "1"]
    expected = [e for _, _, e in MATH_CASES] + [False, False, False]
    assert grade_math_batch(preds, golds, timeout_s=3.0) == expected


def test_grade_math_single() -> None:
    assert grade_math("\\frac{3}{4}", "0.75") is True
    assert grade_math(None, "0.75") is False


def test_length_mismatch_raises() -> None:
    with pytest.raises(ValueError):
        grade_math_batch(["1"], ["1", "2"])


def test_hang_is_killed_and_counts_as_default_and_others_survive() -> None:
    run_guarded(_sleepy, [(0.0, 0)], workers=None, hard_limit_s=60.0, default=-1)  # warm the pool
    start = time.perf_counter()
    got = run_guarded(_sleepy, [(0.0, 1), (30.0, 2), (0.0, 3), (0.0, 4)], workers=None, hard_limit_s=1.0, default=-1)
    assert got == [1, -1, 3, 4]
    assert time.perf_counter() - start < 25.0  # did not wait the 30 s out


def test_math_verify_internal_timeout_case_is_wrong_not_fatal() -> None:
    # A tower of powers: sympy would try to build a ~370M-digit integer.
    assert grade_math_batch(["9^{9^{9}}", "2"], ["1", "2"], timeout_s=1.0) == [False, True]


def test_score_batch_matches_score() -> None:
    p = get_protocol("pz-0shot-boxed")
    samples = [Sample(id="m1", question="q", answer="\\frac{1}{2}"), Sample(id="m2", question="q", answer="7"),
               Sample(id="c1", question="q", answer="A", choices=("x", "y")),
               Sample(id="b1", question="q", answer="(B)", kind="text")]
    extracted = ["0.5", None, None, "b"]
    batch = p.score_batch(extracted, samples, rng_seed=0)
    assert batch == [p.score(e, s, 0) for e, s in zip(extracted, samples, strict=True)]
    assert batch[0] == (1.0, False) and batch[1] == (0.0, True) and batch[2][1] is True and batch[3] == (1.0, False)


@pytest.mark.parametrize(
    ("pred", "gold", "ok"),
    [
        ("yes", "Yes", True),
        ("(b)", "b", True),
        ("b", "(B)", True),
        ("3.0", "3", True),
        ("'hello'", "hello", True),
        ("[a, b]", "a,b", True),
        ("maybe?", "maybe", True),
        ("The answer is: 12.", "12", True),
        ("\\text{dog}", "dog", True),
        ("cat", "dog", False),
        (None, "dog", False),
    ],
)
def test_bbeh_fuzzy_match(pred: str | None, gold: str, ok: bool) -> None:
    assert grade_bbeh(pred, gold) is ok


# ------------------------------------------------------------------ aggregates

PAPER_QWEN3_4B = {"math500": 73.30, "olympiadbench": 37.30, "minerva": 22.10, "gsm8k": 86.30, "amc23": 36.17,
                  "aime24": 0.00, "supergpqa": 26.32, "bbeh": 8.67, "mmlu_pro": 51.94}


def test_math_and_overall_avg_reproduce_paper_table_1() -> None:
    m, partial = agg.math_avg(PAPER_QWEN3_4B)
    assert not partial and m == pytest.approx(42.53, abs=0.01)
    o, partial = agg.overall_avg(PAPER_QWEN3_4B)
    assert not partial and o == pytest.approx(32.36, abs=0.01)


def test_partial_aggregates_are_flagged() -> None:
    scores = {"gsm8k": 50.0, "aime25": 10.0, "mmlu_pro": 30.0}
    assert agg.math_avg(scores) == (50.0, True)  # AIME25 is not a Math AVG member
    value, partial = agg.overall_avg(scores)
    assert partial and value == pytest.approx(40.0)
    assert agg.math_avg({}) == (None, True)
    assert agg.overall_avg({**PAPER_QWEN3_4B, "math_avg": 42.53})[1] is False


def test_mean_stderr_and_mean_at_k() -> None:
    assert agg.mean_stderr([1, 0, 1, 0]) == pytest.approx((0.5, 0.2886751, ))
    assert agg.mean_stderr([1.0]) == (1.0, 0.0)
    with pytest.raises(ValueError):
        agg.mean_stderr([])
    mean, _ = agg.mean_at_k([[1, 0, 0, 1], [1, 1, 1, 1]])
    assert mean == pytest.approx(0.75)
    assert agg.pass_at_k(4, 0, 2) == 0.0 and agg.pass_at_k(4, 4, 2) == 1.0
    assert agg.pass_at_k(4, 1, 2) == pytest.approx(0.5)


def test_bbeh_harmonic_mean_is_the_official_headline() -> None:
    # BBEH's adjusted harmonic mean: per-task percent + 1, harmonic mean, nothing taken off after
    assert bbeh.harmonic_mean({"a": 0.5, "b": 0.5}) == pytest.approx(0.51)
    value = bbeh.harmonic_mean({"a": 0.0, "b": 0.99})
    assert value == pytest.approx(2 / (1 / 1 + 1 / 100) / 100)
    assert value < 0.02 < (0.0 + 0.99) / 2  # a task at 0 pulls the headline down hard, but not to 0
    assert bbeh.harmonic_mean({}) is None
