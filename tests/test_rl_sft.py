"""SFT cold start: example construction, the loss contract, and that it actually fits targets."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from pretrainzero.masking import RandomSpanMasker, WholeWordMasker  # noqa: E402
from pretrainzero.models import load_model  # noqa: E402
from pretrainzero.prompts import render_prompt  # noqa: E402
from pretrainzero.rl.sft import SFTConfig, build_sft_examples, make_example, run_sft, sft_loss, target_text  # noqa: E402

PARAS = [
    "Paris is the capital of France. Paris lies on the river Seine, and Paris is large.",
    "The river Thames flows through London. London is old, and the river is long and wide.",
    "Rome was the city of the king. The king of Rome had a large army and the city grew.",
]


def test_target_text_strips_the_prefill():
    assert target_text("\\boxed{{{answer}}}", " Paris ", "\\boxed{") == "Paris}"
    assert target_text("so \\boxed{{{answer}}}", "Paris", "") == "so \\boxed{Paris}"
    with pytest.raises(ValueError, match="prefix"):
        target_text("\\boxed{{{answer}}}", "Paris", "\\mask{")


def test_example_is_the_rendered_prompt_then_the_answer_then_eos(tiny):
    _, tok = tiny
    cfg = SFTConfig(prefill="\\boxed{")
    ex = make_example(tok, "Guess: [mask] is big.", "Paris", role="predictor", config=cfg)
    assert tok.decode(list(ex.prompt_ids)) == render_prompt(tok, "Guess: [mask] is big.", "chat", "\\boxed{")
    assert ex.target_ids[-1] == tok.eos_token_id
    assert tok.decode(list(ex.target_ids[:-1])) == "Paris}"
    gen = make_example(tok, "Paragraph: x", "Paris", role="generator",
                       config=SFTConfig(gen_prefill="\\mask{", form="raw"))
    assert tok.decode(list(gen.target_ids[:-1])) == "Paris}" and gen.role == "generator"
    # a target that ends on one of the RL phase's stop strings gets no EOS (generation stops there)
    stopped = make_example(tok, "Guess: [mask] is big.", "Paris", role="predictor",
                           config=SFTConfig(prefill="\\boxed{", stop=("}",)))
    assert tok.decode(list(stopped.target_ids)) == "Paris}" and tok.eos_token_id not in stopped.target_ids


def test_build_examples_mixes_roles_deterministically(tiny):
    _, tok = tiny
    masker = WholeWordMasker(min_chars=4, min_occurrences=2, rule="onemask")
    cfg = SFTConfig(generator_fraction=0.5, seed=3)
    a = build_sft_examples(PARAS * 4, masker, tok, cfg)
    b = build_sft_examples(PARAS * 4, masker, tok, cfg)
    assert a == b and len(a) == 12
    assert {e.role for e in a} == {"predictor", "generator"}
    for e in a:  # every predictor target is a word that recurs in its paragraph
        word = tok.decode(list(e.target_ids[:-1])).split("{", 1)[1].rstrip("}")
        assert any(p.count(word) >= 2 for p in PARAS)


def test_loss_ignores_prompt_tokens(tiny):
    model, tok = tiny
    cfg = SFTConfig()
    e1 = make_example(tok, "A [mask] prompt", "Paris", role="predictor", config=cfg)
    e2 = make_example(tok, "A completely different and much longer [mask] prompt here", "Paris", role="predictor",
                      config=cfg)
    with torch.no_grad():
        (l1, n1), (l2, n2) = sft_loss(model, [e1]), sft_loss(model, [e1, e2])
    assert n1 == len(e1.target_ids) and n2 == n1 + len(e2.target_ids)
    assert float(l1) > 0 and torch.isfinite(l2)


def test_run_sft_fits_the_targets(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir))
    cfg = SFTConfig(steps=25, batch_size=3, lr=3e-3, warmup_steps=1, prefill="\\boxed{")
    seen = []
    m = run_sft(model, tok, PARAS, cfg, RandomSpanMasker(1, 1), log=seen.append)
    assert len(seen) == 25 and m["sft_examples"] == 3
    assert m["sft_last_loss"] < 0.5 * m["sft_first_loss"]


def test_config_validation():
    with pytest.raises(ValueError, match="predictor_template"):
        SFTConfig(predictor_template="{answer}")
    with pytest.raises(ValueError, match="generator_fraction"):
        SFTConfig(generator_fraction=1.5)
