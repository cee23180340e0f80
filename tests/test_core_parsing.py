r"""Parsing of \boxed{} / \mask{} and <think> stripping. Run: pytest tests/test_core_parsing.py"""

import time

import pytest

from pretrainzero.parsing import last_boxed, last_mask, strip_think


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"\boxed{Paris}", "Paris"),
        (r"first \boxed{a} then \boxed{b}", "b"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
        # a truncated final box is a missing answer, not the earlier complete one
        (r"\boxed{x{y}z} and an unfinished \boxed{oops", None),
        (r"\boxed{a} \boxed{b{c}", None),
        (r"\boxed{a \boxed{b}}", "b"),
        (r"\boxed{a \boxed{b}", "b"),  # the last opening closed; an earlier one did not
        (r"\boxed{a} then text with a stray } and {", "a"),
        (r"\boxed{}", ""),
        (r"\boxed{a \} b}", r"a \} b"),
        ("no answer here", None),
        (r"\boxed{never closed", None),
        ("}}}{{{", None),
        ("", None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_last_mask_is_independent_of_boxed():
    assert last_mask(r"\boxed{x} \mask{Eiffel Tower} \boxed{y}") == "Eiffel Tower"
    assert last_mask(r"\boxed{x}") is None
    assert last_mask(r"\mask{Paris} no, rather \mask{Lond") is None  # truncated by the token budget
    assert last_mask(r"\mask{Paris} and \boxed{unfinished") == "Paris"


def test_truncated_final_box_scores_zero_in_the_predictor_reward():
    from pretrainzero.game import PredictionRule

    assert PredictionRule().score(r"\boxed{Paris} hmm, maybe \boxed{Pa", "Paris") == 0.0
    assert PredictionRule().score(r"\boxed{Lyon} hmm, maybe \boxed{Paris}", "Paris") == 1.0


def test_parsing_is_linear_on_adversarial_input():
    text = r"\boxed{" * 100_000 + "}" * 3 + "x" * 1_000_000
    t0 = time.perf_counter()
    assert last_boxed(text) == ""  # the innermost (last-opened) complete box
    assert time.perf_counter() - t0 < 5.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"<think>maybe \boxed{no}</think> \boxed{yes}", r" \boxed{yes}"),
        (r"reasoning</think>\boxed{after}", r"\boxed{after}"),
        (r"\boxed{before}<think>never closed \boxed{inside}", r"\boxed{before}"),
        ("plain", "plain"),
    ],
)
def test_strip_think(text, expected):
    assert strip_think(text) == expected


def test_every_caller_misses_a_truncated_final_answer():
    r"""A completion cut off inside its last ``\boxed{`` / ``\mask{`` holds no answer for every caller:
    the predictor reward, mask proposal (envs, RL step, SFT, verifiers all use game.parse_mask), and
    the eval protocols' extraction, never the earlier complete one."""
    import gymnasium

    from pretrainzero.eval.benchmarks import Sample
    from pretrainzero.eval.protocols import get_protocol
    from pretrainzero.game import parse_mask

    paragraph = "The river Seine flows through Paris. The Loire flows to Nantes."
    assert parse_mask(paragraph, r"\mask{Seine}").answer == "Seine"
    assert parse_mask(paragraph, r"\mask{Seine} or rather \mask{Loi").reason == "no_mask"
    env = gymnasium.make("pretrainzero/wiki-vital-en-MaskGeneration-v1")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(r"\mask{the} then \mask{a")
    assert (info["valid"], info["reason"], reward) == (False, "no_mask", 0.0)
    protocol = get_protocol("pz-0shot-boxed")
    for sample in (Sample(id="math", question="1+2?", answer="3"),
                   Sample(id="mcq", question="Pick", answer="B", choices=("x", "y", "z", "w"))):
        gold = sample.answer
        assert protocol.extract(rf"so \boxed{{{gold}}}", sample) == gold
        assert protocol.extract(rf"so \boxed{{{gold}}} but wait, \boxed{{", sample) is None
