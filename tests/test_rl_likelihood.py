"""Span log-likelihoods and the RLP-style likelihood reward on the tiny random model."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from pretrainzero.models import load_model  # noqa: E402
from pretrainzero.rl.likelihood import (  # noqa: E402
    LikelihoodReward,
    LikelihoodRewardConfig,
    reasoning_of,
    span_logprob,
    span_token_logprobs,
)


def _reference(model, tok, context: str, span: str) -> list[float]:
    """Unbatched, unpadded full forward: the ground truth the batched path must match."""
    ctx = tok(context, add_special_tokens=False)["input_ids"]
    whole = tok(context + span, add_special_tokens=False)["input_ids"]
    assert whole[: len(ctx)] == ctx
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([whole])).logits[0].float(), -1)
    return [float(logp[i - 1, whole[i]]) for i in range(len(ctx), len(whole))]


def test_batched_left_padded_scores_match_unpadded_forward(tiny):
    model, tok = tiny
    contexts = ["the city of", "Paris is a city in France and the river of \\boxed{", "a"]
    spans = ["Paris", "water light energy", "king"]
    got = span_token_logprobs(model, tok, contexts, spans, batch_size=3)
    for c, s, g in zip(contexts, spans, got, strict=True):
        ref = _reference(model, tok, c, s)
        assert len(g) == len(ref) > 0
        assert g == pytest.approx(ref, abs=1e-4)
        assert all(x <= 0 for x in g)
    sums = span_logprob(model, tok, contexts, spans, batch_size=2)
    assert sums == pytest.approx([math.fsum(g) for g in got], abs=1e-4)


def test_reasoning_of_cuts_at_the_last_box():
    assert reasoning_of("think \\boxed{a} more \\boxed{b}") == "think \\boxed{a} more "
    assert reasoning_of("no box at all") == "no box at all"


def test_no_think_baseline_is_zero_without_reasoning_and_none_is_raw_logprob(tiny):
    model, tok = tiny
    prompt, answer = "the river of [mask] is long.\n", "Rome"
    r0 = LikelihoodReward(model, tok)([prompt], ["\\boxed{Rome}"], [answer])
    assert r0 == pytest.approx([0.0], abs=1e-5)
    raw = LikelihoodReward(model, tok, LikelihoodRewardConfig(baseline="none"))
    comp = "the city is Rome so \\boxed{Rome}"
    expected = span_logprob(model, tok, [prompt + "the city is Rome so \\boxed{"], [answer])
    assert raw([prompt], [comp], [answer]) == pytest.approx(expected, abs=1e-5)
    gain = LikelihoodReward(model, tok)([prompt, prompt], [comp, "x"], [answer, answer])
    base = span_logprob(model, tok, [prompt + "\\boxed{"], [answer])[0]
    assert gain[0] == pytest.approx(expected[0] - base, abs=1e-4)
    assert gain[0] != pytest.approx(gain[1])  # different reasonings, different rewards: dense signal


def test_clip_and_mean_scale(tiny):
    model, tok = tiny
    r = LikelihoodReward(model, tok, LikelihoodRewardConfig(baseline="none", clip=0.5, scale="mean"))
    assert r(["p "], ["q \\boxed{"], ["water light energy"]) == [-0.5]  # a random model is far below -0.5


def test_ema_baseline_follows_the_policy_slowly(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir))
    reward = LikelihoodReward(model, tok, LikelihoodRewardConfig(baseline="ema", ema_decay=0.5))
    p = next(model.parameters())
    pe = next(reward.ema.parameters())
    before = pe.detach().clone()
    with torch.no_grad():
        p.add_(1.0)
    reward.after_step(model)
    assert torch.allclose(pe, before + 0.5, atol=1e-6)  # halfway to the moved policy
    assert not pe.requires_grad


def test_config_is_validated():
    with pytest.raises(ValueError, match="baseline"):
        LikelihoodRewardConfig(baseline="teacher")
    with pytest.raises(ValueError, match="ema_decay"):
        LikelihoodRewardConfig(ema_decay=1.0)


def test_prefilled_prompt_has_no_reasoning_so_equal_rewards(tiny):
    model, tok = tiny
    r = LikelihoodReward(model, tok, LikelihoodRewardConfig(baseline="none"))
    prompt = "the river of [mask] is long.\n\\boxed{"
    got = r([prompt, prompt], ["Rome}", "Paris}"], ["Rome", "Rome"])
    assert got[0] == pytest.approx(got[1]) == pytest.approx(span_logprob(model, tok, [prompt], ["Rome"])[0], abs=1e-5)
