"""Held-out evaluation: deterministic masks, the two metrics, errors and paired differences."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from pretrainzero.masking import WholeWordMasker  # noqa: E402
from pretrainzero.models import load_model  # noqa: E402
from pretrainzero.rl.heldout import (  # noqa: E402
    build_heldout_items,
    evaluate_heldout,
    mean_se,
    paired_difference,
)
from pretrainzero.rl.sft import SFTExample, sft_step  # noqa: E402

PARAS = [
    ("p0", "Paris is the capital of France. Paris lies on the river Seine, and Paris is large."),
    ("p1", "The river Thames flows through London. London is old, and the river is long and wide."),
    ("p2", "Rome was the city of the king. The king of Rome had a large army and the city grew."),
    ("p3", "short text"),  # no recurring word: skipped
]
MASKER = WholeWordMasker(min_chars=4, min_occurrences=2, rule="onemask")


def test_mean_se():
    m, se = mean_se([1.0, 0.0, 1.0, 0.0])
    assert m == 0.5 and se == pytest.approx(math.sqrt(1 / 3) / 2)
    assert mean_se([2.0]) == (2.0, 0.0)


def test_masks_depend_only_on_seed_and_paragraph_id(tiny_model_dir):
    _, tok = load_model(str(tiny_model_dir))
    a = build_heldout_items(PARAS, MASKER, tok, seed=1)
    b = build_heldout_items(list(reversed(PARAS)), MASKER, tok, seed=1)
    assert len(a) == 3 and {i.paragraph_id for i in a} == {"p0", "p1", "p2"}
    assert sorted(a, key=lambda i: i.paragraph_id) == sorted(b, key=lambda i: i.paragraph_id)
    many = [build_heldout_items(PARAS, MASKER, tok, seed=s) for s in range(8)]
    assert len({tuple(i.prompt for i in m) for m in many}) > 1  # the seed matters
    assert build_heldout_items(PARAS, MASKER, tok, seed=1, limit=2) == a[:2]


def test_training_on_the_items_raises_both_metrics(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir))
    items = build_heldout_items(PARAS, MASKER, tok, prefill="\\boxed{", seed=0)
    before = evaluate_heldout(model, tok, items, max_new_tokens=6, samples=4, stop=("}",))
    assert before.n == 3 and before.accuracy == 0.0 and before.sampled_accuracy == 0.0
    assert before.samples_per_item == 4 and len(before.sampled_correct) == 3
    assert before.span_logprob < 0 and before.token_logprob < 0
    # overfit the items (answer + "}" after the prefilled prompt); exact match must reach 1
    ex = [SFTExample(tuple(tok(i.prompt, add_special_tokens=False)["input_ids"]),
                     tuple(tok(i.answer + "}", add_special_tokens=False)["input_ids"]) + (tok.eos_token_id,))
          for i in items]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(40):
        sft_step(model, opt, ex, pad_token_id=tok.pad_token_id)
    after = evaluate_heldout(model, tok, items, max_new_tokens=6, samples=4, stop=("}",))
    assert after.accuracy == 1.0 and after.accuracy_se == 0.0
    assert after.sampled_accuracy > 0.5  # sampled at temperature 1 from a peaked policy
    d, _ = paired_difference(after, before, "sampled_accuracy")
    assert d == pytest.approx(after.sampled_accuracy)
    diff, se = paired_difference(after, before, "span_logprob")
    assert diff > 0 and diff == pytest.approx(after.span_logprob - before.span_logprob)
    assert se >= 0
    assert set(after.summary()) >= {"accuracy", "accuracy_se", "span_logprob_se", "token_logprob"}
    with pytest.raises(ValueError, match="metric"):
        after.per_item("bleu")


def test_paired_difference_needs_the_same_items(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir))
    items = build_heldout_items(PARAS, MASKER, tok, seed=0)
    r3 = evaluate_heldout(model, tok, items, max_new_tokens=2)
    r2 = evaluate_heldout(model, tok, items[:2], max_new_tokens=2)
    with pytest.raises(ValueError, match="same held-out set"):
        paired_difference(r3, r2)


def test_sampled_accuracy_is_seeded_and_leaves_the_global_rng_alone(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir))
    items = build_heldout_items(PARAS, MASKER, tok, prefill="\\boxed{", seed=0)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = evaluate_heldout(model, tok, items, max_new_tokens=4, samples=3, seed=7)
    assert torch.equal(torch.rand(3), expected_next)  # training's RNG stream is unchanged
    b = evaluate_heldout(model, tok, items, max_new_tokens=4, samples=3, seed=7)
    assert a.sampled_correct == b.sampled_correct and a.samples_per_item == 3
    none = evaluate_heldout(model, tok, items, max_new_tokens=2)
    assert math.isnan(none.sampled_accuracy) and "sampled_accuracy" not in none.summary()
    with pytest.raises(ValueError, match="no sampled accuracy"):
        none.per_item("sampled_accuracy")
    with pytest.raises(ValueError, match="temperature"):
        evaluate_heldout(model, tok, items, max_new_tokens=2, samples=2, temperature=0.0)


def test_greedy_accuracy_stops_at_the_recipe_stop_like_sampling(tiny_model_dir):
    """A model that writes ``answer}`` and then a second, wrong ``\\boxed{}`` is right under stop "}":
    greedy held-out decoding cuts at the stop string as training's sampling does."""
    model, tok = load_model(str(tiny_model_dir))
    items = build_heldout_items(PARAS, MASKER, tok, prefill="\\boxed{", seed=0)
    ex = [SFTExample(tuple(tok(i.prompt, add_special_tokens=False)["input_ids"]),
                     tuple(tok(i.answer + "} so \\boxed{zz}", add_special_tokens=False)["input_ids"])
                     + (tok.eos_token_id,))
          for i in items]
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(60):
        sft_step(model, opt, ex, pad_token_id=tok.pad_token_id)
    unstopped = evaluate_heldout(model, tok, items, max_new_tokens=24)
    assert unstopped.accuracy == 0.0  # the last \boxed{} is the wrong one
    stopped = evaluate_heldout(model, tok, items, max_new_tokens=24, stop=("}",))
    assert stopped.accuracy == 1.0
