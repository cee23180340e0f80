"""Pure reward functions and the paper's prompts. Run: pytest tests/test_core_rewards.py"""

import math

import pytest

from pretrainzero.masking import MaskedExample
from pretrainzero.prompts import chat_messages, generation_prompt, prediction_prompt
from pretrainzero.rewards import (
    exact_match,
    generator_reward,
    normalize_answer,
    predictor_reward,
    prefix_match,
)


def test_exact_match_is_strict_by_default():
    assert exact_match(" Paris ", "Paris") == 1.0
    assert exact_match("paris", "Paris") == 0.0
    assert exact_match("paris", "Paris", normalized=True) == 1.0
    assert exact_match("The Paris.", "Paris", normalized=True) == 1.0
    assert exact_match(None, "Paris") == 0.0
    assert exact_match("", "") == 0.0  # an empty answer never scores


def test_normalize_answer():
    assert normalize_answer("  The  Eiffel—Tower! ") == "eiffel tower"


@pytest.mark.parametrize(
    ("completion", "reward"),
    [
        (r"It must be \boxed{Paris}.", 1.0),
        (r"\boxed{London} no wait \boxed{Paris}", 1.0),
        (r"\boxed{Paris} no wait \boxed{London}", 0.0),
        (r"<think>\boxed{Paris}</think> I give up", 0.0),
        ("Paris", 0.0),  # unboxed answers do not count
        ("", 0.0),
        ("\\boxed{" * 1000, 0.0),
        ("x" * 2_000_000 + r"\boxed{Paris}", 1.0),
    ],
)
def test_predictor_reward(completion, reward):
    assert predictor_reward(completion, "Paris") == reward


def test_prefix_match_needs_a_word_boundary():
    assert prefix_match("Paris", "Paris is big") == 1.0
    assert prefix_match("Paris is", "Paris is big") == 1.0
    assert prefix_match("Par", "Paris is big") == 0.0
    assert prefix_match("London", "Paris") == 0.0
    assert prefix_match("", "Paris") == 0.0
    assert prefix_match(None, "Paris") == 0.0


def test_generator_reward_paper_shape():
    rewards = [generator_reward([1.0] * k + [0.0] * (8 - k)) for k in range(9)]
    assert rewards == [0.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0]
    assert generator_reward([1.0] * 4 + [0.0] * 4, valid=False) == 0.0
    assert generator_reward([]) == 0.0


def test_generator_reward_other_shapes():
    half = [1.0, 0.0]
    assert generator_reward(half, shape="rzero") == 1.0
    assert generator_reward([1.0, 1.0], shape="rzero") == 0.0
    assert generator_reward(half, shape="gaussian") == 1.0
    # SPICE: exp(-(p(1-p) - 0.25)^2 / 0.02); masks nobody or everybody solves get ~0 (exp(-3.125))
    for nobody_or_all in ([0.0] * 8, [1.0] * 8):
        assert math.isclose(generator_reward(nobody_or_all, shape="gaussian"), math.exp(-3.125))
        assert generator_reward(nobody_or_all, shape="gaussian") < 0.05
    one_of_eight = [1.0] + [0.0] * 7
    assert math.isclose(generator_reward(one_of_eight, shape="gaussian"), math.exp(-((7 / 64 - 0.25) ** 2) / 0.02))
    assert generator_reward(one_of_eight, shape="gaussian") == generator_reward([0.0] + [1.0] * 7, shape="gaussian")
    assert generator_reward([1.0] * 3 + [0.0] * 5, shape="gaussian") > generator_reward(one_of_eight, shape="gaussian")
    with pytest.raises(ValueError, match="unknown generator reward shape"):
        generator_reward(half, shape="nope")


def test_paper_prompts_are_figure_5():
    g = generation_prompt("Some paragraph.")
    assert g.startswith("Generate a mask to mask important words in the following paragraph")
    assert "Paragraph: Some paragraph.\n" in g and g.endswith(r"must be placed inside \mask{}.")
    p = prediction_prompt(MaskedExample("span", "A [mask] text.", "x", 2))
    assert p == (
        "There is a passage with masked words by [mask]:\nA [mask] text.\n"
        r"Please reason step by step, and put the predicted masked words within \boxed{}."
    )
    assert "next word" in prediction_prompt(MaskedExample("next", "A partial", "text", 10))
    assert chat_messages("hi", system="s") == [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]
