"""The policy update on the tiny real model: mini-batches and the PPO clip, old log-probs from the
sampler or recomputed, the rollout-vs-trainer log-prob gap, Dr. GRPO's constant normaliser, and
gradient checkpointing. Run: pytest tests/test_rl_update.py
"""

from __future__ import annotations

import copy

import pytest
import torch

from pretrainzero.models import load_model
from pretrainzero.rl.algorithms import get_algorithm
from pretrainzero.rl.precision import checkpointed_layers, enable_gradient_checkpointing
from pretrainzero.rl.step import Sample
from pretrainzero.rl.update import UpdateConfig, policy_update, split_mini_batches, token_logprobs


@pytest.fixture(scope="module")
def model_tok(tiny_model_dir):
    return load_model(str(tiny_model_dir))


def _samples(n_prompts: int = 4, g: int = 3, seed: int = 0) -> list[Sample]:
    gen = torch.Generator().manual_seed(seed)
    ids = lambda n: torch.randint(3, 500, (n,), generator=gen).tolist()
    out = []
    for p in range(n_prompts):
        prompt = ids(6 + 3 * p)
        for k in range(g):
            out.append(Sample("predictor", p, prompt, ids(2 + (5 * k + p) % 7), [], float(k % 2 + p % 2), "stop"))
    return out


def _with_sampler_logprobs(model, samples, pad_id, temperature=1.0):
    with torch.no_grad():
        logp, _, _ = token_logprobs(model, samples, pad_id, temperature)
    return [Sample(s.role, s.group, s.prompt_ids, s.completion_ids, logp[r, : len(s.completion_ids)].tolist(),
                   s.reward, s.finish_reason) for r, s in enumerate(samples)]


def _run(model, samples, pad_id, algo="dapo", lr=1e-2, opt="adam", **cfg):
    m = copy.deepcopy(model)
    params = list(m.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0) if opt == "adam" else torch.optim.SGD(params, lr=lr)
    res = policy_update(m, optimizer, get_algorithm(algo) if isinstance(algo, str) else algo, samples, pad_id,
                        UpdateConfig(**{"micro_batch_size": 4, "grad_clip": 0.0, **cfg}))
    return m, res


def test_mini_batches_are_whole_prompts_round_robin():
    s = _samples(5, 2)
    parts = split_mini_batches(s, 2)
    assert [[x.group for x in p] for p in parts] == [[0, 0, 2, 2, 4, 4], [1, 1, 3, 3]]
    assert split_mini_batches(s, 1) == [s] and len(split_mini_batches(s, 9)) == 5


def test_clip_engages_only_with_several_mini_batches(model_tok):
    model, tok = model_tok
    samples = _with_sampler_logprobs(model, _samples(), tok.pad_token_id)
    _, one = _run(model, samples, tok.pad_token_id, mini_batches=1)
    assert one.optimizer_steps == 1 and one.old_logprobs == "current" and one.clip_frac == 0.0
    _, four = _run(model, samples, tok.pad_token_id, mini_batches=4)
    assert four.optimizer_steps == 4 and four.old_logprobs == "sampler" and not four.skipped
    assert four.clip_frac > 0  # later mini-batches see the policy moved by the earlier steps


def test_old_logprobs_recomputed_when_the_sampler_gives_none(model_tok):
    model, tok = model_tok
    plain = _samples()  # no sampler log-probs
    with_lp = _with_sampler_logprobs(model, plain, tok.pad_token_id)
    m1, a = _run(model, plain, tok.pad_token_id, mini_batches=3, opt="sgd", lr=0.1)
    m2, b = _run(model, with_lp, tok.pad_token_id, mini_batches=3, opt="sgd", lr=0.1)
    assert a.old_logprobs == "recomputed" and b.old_logprobs == "sampler"
    assert a.logprob_gap is None and b.logprob_gap == pytest.approx(0.0, abs=1e-5)
    # the recomputed old log-probs are the rollout policy's: the same update as with the sampler's
    assert a.clip_frac == b.clip_frac and a.loss == pytest.approx(b.loss, abs=1e-5)
    assert all(torch.allclose(p, q, atol=1e-5) for p, q in zip(m1.parameters(), m2.parameters(), strict=True))


def test_logprob_gap_compares_tempered_distributions(model_tok):
    model, tok = model_tok
    samples = _with_sampler_logprobs(model, _samples(), tok.pad_token_id, temperature=0.7)
    _, same = _run(model, samples, tok.pad_token_id, temperature=0.7)
    _, other = _run(model, samples, tok.pad_token_id, temperature=1.0)
    assert same.logprob_gap < 1e-5 < 0.01 < other.logprob_gap


def test_dr_grpo_loss_does_not_depend_on_micro_batching(model_tok):
    model, tok = model_tok
    samples = _samples(3, 4)
    deltas = []
    for micro in (1, 5, 12):  # different padded lengths per micro-batch
        m, res = _run(model, samples, tok.pad_token_id, algo=get_algorithm("dr_grpo", norm_len=16), lr=1.0,
                      opt="sgd", micro_batch_size=micro)
        assert not res.skipped
        deltas.append(torch.cat([(p - q).flatten() for p, q in zip(m.parameters(), model.parameters(), strict=True)]))
    assert deltas[0].abs().max() > 0
    assert all(torch.allclose(deltas[0], d, atol=1e-6, rtol=1e-4) for d in deltas[1:])


def test_gradient_checkpointing_gives_the_same_loss_and_gradients(tiny_model_dir):
    plain, tok = load_model(str(tiny_model_dir))
    ckpt, _ = load_model(str(tiny_model_dir))
    enable_gradient_checkpointing(ckpt)
    calls, mlp = [], ckpt.model.layers[0].mlp
    forward = mlp.forward
    mlp.forward = lambda *a, **k: calls.append(1) or forward(*a, **k)
    samples = _samples()
    out = []
    for m, ctx in ((plain, torch.enable_grad), (ckpt, lambda: checkpointed_layers(ckpt))):
        with ctx():
            logp, mask, _ = token_logprobs(m, samples, tok.pad_token_id, 1.0)
        loss = -(logp * mask).sum()
        loss.backward()
        out.append((loss.detach(), [p.grad.clone() for p in m.parameters()]))
    assert len(calls) == 2  # the checkpointed layer ran again in the backward pass
    assert not ckpt.model.layers[0].training  # eval mode restored
    (la, ga), (lb, gb) = out
    assert torch.allclose(la, lb, atol=1e-5)
    assert all(torch.allclose(x, y, atol=1e-5, rtol=1e-4) for x, y in zip(ga, gb, strict=True))


def test_recipe_gives_dr_grpo_the_response_budget_and_validates_mini_batches():
    from pretrainzero.rl.algorithms import recipe_algorithm
    from pretrainzero.rl.recipe import recipe_from_dict

    assert recipe_algorithm(recipe_from_dict({"algorithm": "dr_grpo", "max_response_tokens": 512})).norm_len == 512
    r = recipe_from_dict({"algorithm": "dr_grpo", "algorithm_kwargs": {"norm_len": 64}})
    assert recipe_algorithm(r).norm_len == 64
    assert recipe_algorithm(recipe_from_dict({"algorithm": "dapo"})).eps_high == 0.28
    with pytest.raises(ValueError, match="mini_batches must be >= 1"):
        recipe_from_dict({"mini_batches": 0})
    with pytest.raises(ValueError, match="norm_len must be a positive integer"):
        recipe_from_dict({"algorithm": "dr_grpo", "algorithm_kwargs": {"norm_len": 0}})


def test_token_logprob_matches_log_softmax_values_entropy_and_gradients():
    from pretrainzero.rl.update import TokenLogProb

    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(3, 5, 40, generator=g, dtype=torch.float64) * 4).requires_grad_()
    tokens = torch.randint(0, 40, (3, 5), generator=g)
    weights = torch.randn(3, 5, generator=g, dtype=torch.float64)
    logp, ent = TokenLogProb.apply(logits, tokens)
    ref_lp = torch.log_softmax(logits, -1)
    ref = ref_lp.gather(-1, tokens[..., None]).squeeze(-1)
    assert torch.allclose(logp, ref) and not ent.requires_grad
    assert torch.allclose(ent, -(ref_lp.exp() * ref_lp).sum(-1))
    (grad,) = torch.autograd.grad((logp * weights).sum(), logits)
    (ref_grad,) = torch.autograd.grad((ref * weights).sum(), logits)
    assert torch.allclose(grad, ref_grad)
    assert torch.autograd.gradcheck(lambda x: TokenLogProb.apply(x, tokens)[0], (logits,))


def test_fused_adamw_takes_the_default_adamw_step(model_tok):
    from pretrainzero.rl.update import make_adamw

    model, tok = model_tok
    samples = _samples()
    steps = {}
    for fused in (False, True):
        m = copy.deepcopy(model)
        params = list(m.parameters())
        opt = make_adamw(params, 1e-2, 0.01) if fused else torch.optim.AdamW(params, lr=1e-2, weight_decay=0.01)
        assert bool(opt.defaults["fused"]) == fused
        for _ in range(2):
            policy_update(m, opt, get_algorithm("grpo"), samples, tok.pad_token_id, UpdateConfig(micro_batch_size=4))
        steps[fused] = [p.detach().clone() for p in params]
    moved = [(a - b).abs().max() for a, b in zip(steps[False], model.parameters(), strict=True)]
    assert max(moved) > 1e-3  # the weights moved, so the comparison below means something
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(steps[False], steps[True], strict=True))
