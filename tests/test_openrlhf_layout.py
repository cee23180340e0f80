"""The fixed-size two-role layout through OpenRLHF 0.11.2's real classes, and loss equivalence.

A step's samples are padded to S with ghosts (pretrainzero.openrlhf.layout) and then pushed
through exactly what OpenRLHF does with a rollout: ``RemoteExperienceMaker.split_rollout_samples``
(concat into rollout micro-batches), an actor forward for the old log-probs, our
``compute_advantages_and_returns`` override, the dp chunking of ``async_run_method_batch``, the
replay buffer's split / remove-padding / shuffle / re-batch, ``iter_grad_accum_global_norm`` (or
its per-rank normaliser with a summed all-reduce for dp = 2), and the real ``PolicyLoss``. The
policy is a bigram model (logits = W[previous token]) so that both sides compute log-probs from
the token ids they are given; the update OpenRLHF would apply must equal our algorithm's loss over
the real samples, in value and gradient.
Run: pytest tests/test_openrlhf_layout.py
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip("openrlhf")
from openrlhf_stubs import stubbed  # noqa: E402

from pretrainzero.openrlhf.batch import fixed_batch_size, raw_step_samples  # noqa: E402
from pretrainzero.rl.algorithms import get_algorithm  # noqa: E402
from pretrainzero.rl.step import Sample  # noqa: E402

V, PAD = 13, 0


@pytest.fixture(scope="module")
def orl():
    with stubbed():
        from openrlhf.models.loss import PolicyLoss
        from openrlhf.models.utils import log_probs_from_logits
        from openrlhf.trainer.ppo_utils.experience import (
            make_experience_batch,
            remove_padding_in_sequences,
            split_experience_batch,
        )
        from openrlhf.utils.loss_utils import _optimizer_step_loss_norm, iter_grad_accum_global_norm

        from pretrainzero.openrlhf import layout
        from pretrainzero.openrlhf.experience import PretrainZeroExperienceMaker

        yield SimpleNamespace(**locals())


def two_role_samples(seed: int = 0) -> list[Sample]:
    """Generator groups of 3 and predictor groups of 4 (G_gen != G_pred), varied lengths and rewards."""
    rng = random.Random(seed)
    samples, group = [], 0
    for role, size, n_groups in (("generator", 3, 2), ("predictor", 4, 3)):
        for _ in range(n_groups):
            prompt = [rng.randrange(1, V) for _ in range(rng.randint(2, 6))]
            for _k in range(size):
                comp = [rng.randrange(1, V) for _ in range(rng.randint(1, 7))]
                samples.append(Sample(role, group, prompt, comp, [-1.0] * len(comp), rng.choice([0.0, 0.25, 1.0]),
                                      rng.choice(["stop", "length"])))
            group += 1
    return samples


def bigram_logits(W: torch.Tensor, sequences: torch.Tensor) -> torch.Tensor:
    return W[sequences]


def actor_forward(orl, W, sequences, action_mask):
    """``openrlhf.models.Actor.forward`` (no packing) with a bigram model in place of the transformer."""
    rolled = torch.roll(sequences, shifts=-1, dims=1)
    log_probs = orl.log_probs_from_logits(bigram_logits(W, sequences), rolled)[:, :-1]
    return log_probs[:, -action_mask.shape[1]:] * action_mask.float()


def our_loss(W, W_old, samples, algo):
    """The embedded trainer's loss: completions right-padded, algorithm loss over real samples."""
    C = max(len(s.completion_ids) for s in samples)
    new = torch.zeros(len(samples), C, dtype=W.dtype)
    old = torch.zeros(len(samples), C, dtype=W.dtype)
    mask = torch.zeros(len(samples), C, dtype=W.dtype)
    for r, s in enumerate(samples):
        seq = s.prompt_ids + s.completion_ids
        for j in range(len(s.completion_ids)):
            prev, tok = seq[len(s.prompt_ids) - 1 + j], seq[len(s.prompt_ids) + j]
            new[r, j] = torch.log_softmax(W[prev], -1)[tok]
            old[r, j] = torch.log_softmax(W_old[prev], -1)[tok]
            mask[r, j] = 1
    adv = algo.advantages(torch.tensor([s.reward for s in samples]), torch.tensor([s.group for s in samples]))
    return algo.loss(new, old.detach(), adv.to(W.dtype), mask)


def maker(orl, algo, dp: int, rollout_micro: int):
    args = SimpleNamespace(train=SimpleNamespace(dynamic_batch_enable=False),
                           rollout=SimpleNamespace(micro_batch_size=rollout_micro, n_samples_per_prompt=4),
                           algo=SimpleNamespace(advantage=SimpleNamespace(estimator="group_norm")),
                           actor=SimpleNamespace(num_nodes=1, num_gpus_per_node=dp),
                           ds=SimpleNamespace(ring_attn_size=1, tensor_parallel_size=1))
    return orl.PretrainZeroExperienceMaker(None, None, None, None, None, SimpleNamespace(args=args),
                                           SimpleNamespace(pad_token_id=PAD), algorithm=algo)


def openrlhf_loss(orl, W, W_old, samples, algo, policy_loss, *, S, dp, train_micro, rollout_micro, seed=0):
    """What OpenRLHF 0.11.2 backpropagates for one step, with dp ranks simulated in turn."""
    slots = orl.layout.fixed_size_experiences(samples, S, dp, PAD)
    m = maker(orl, algo, dp, rollout_micro)
    rollout_batches = m.split_rollout_samples(slots)
    with torch.no_grad():  # make_experience: the actor's forward gives the old log-probs
        for e in rollout_batches:
            e.action_log_probs = actor_forward(orl, W_old, e.sequences, e.action_mask)
    rollout_batches = m.compute_advantages_and_returns(rollout_batches)
    chunk = -(-len(rollout_batches) // dp)  # RayActorGroup.async_run_method_batch
    gas = S // (dp * train_micro)
    ranks = []
    for r in range(dp):
        items = []
        for e in rollout_batches[r * chunk:(r + 1) * chunk]:  # NaiveReplayBuffer.append
            items.extend(orl.remove_padding_in_sequences(orl.split_experience_batch(e)))
        random.Random(seed + r).shuffle(items)  # DataLoader(shuffle=True)
        mbs = [orl.make_experience_batch(items[i:i + train_micro]) for i in range(0, len(items), train_micro)]
        assert len(mbs) == gas  # exactly one optimizer step per rank: nothing leaks into the next step
        ranks.append(mbs)
    if dp == 1:
        pairs = [list(orl.iter_grad_accum_global_norm(iter(ranks[0]), None, gas, lambda e: e.action_mask))]
    else:  # the all-reduce (SUM) of the normalisers across ranks
        local = [orl._optimizer_step_loss_norm([mb.action_mask for mb in mbs], None, dp, gas) for mbs in ranks]
        info = {"dp_size": dp, "batch_num_tokens": sum(x["batch_num_tokens"] for x in local),
                "global_batch_size": sum(x["global_batch_size"] for x in local)}
        pairs = [[(mb, info) for mb in mbs] for mbs in ranks]
    total = 0.0
    for rank_pairs in pairs:
        for mb, info in rank_pairs:
            logp = actor_forward(orl, W, mb.sequences, mb.action_mask)
            loss = policy_loss(logp, mb.action_log_probs.to(W.dtype), mb.advantages.to(W.dtype),
                               action_mask=mb.action_mask, rollout_log_probs=mb.rollout_log_probs, **info)[0]
            total = total + loss / gas / dp  # DeepSpeed scales by 1/gas; DP averages the gradients
    return total, slots, rollout_batches


ALGOS = {  # project algorithm -> OpenRLHF loss flags that reproduce it
    "dapo": dict(clip_eps_low=0.2, clip_eps_high=0.28, token_level_loss=True),  # token-mean
    "grpo": dict(clip_eps_low=0.2, clip_eps_high=0.2, token_level_loss=False),  # seq-mean-token-mean
    "reinforce_pp": dict(clip_eps_low=0.2, clip_eps_high=0.2, token_level_loss=True),
}


@pytest.mark.parametrize("name", sorted(ALGOS))
@pytest.mark.parametrize("dp,train_micro,rollout_micro", [(1, 4, 2), (2, 3, 4)])
def test_padded_openrlhf_loss_equals_our_loss_over_real_samples(orl, name, dp, train_micro, rollout_micro):
    torch.manual_seed(0)
    samples = two_role_samples()
    S = fixed_batch_size(len(samples) + 5, 4, dp, train_micro, rollout_micro)
    assert S > len(samples)  # there are ghosts
    algo = get_algorithm(name)
    W = torch.randn(V, V, dtype=torch.float64, requires_grad=True)
    W_old = (W.detach() + 0.3 * torch.randn(V, V, dtype=torch.float64))  # ratios away from 1: clipping bites
    ours = our_loss(W, W_old, samples, algo)
    (g_ours,) = torch.autograd.grad(ours, W)
    theirs, _, _ = openrlhf_loss(orl, W, W_old, samples, algo, orl.PolicyLoss(**ALGOS[name]), S=S, dp=dp,
                                 train_micro=train_micro, rollout_micro=rollout_micro)
    (g_theirs,) = torch.autograd.grad(theirs, W)
    assert abs(float(ours.detach())) > 1e-3 and g_ours.abs().max() > 1e-3
    assert float(theirs.detach()) == pytest.approx(float(ours.detach()), abs=1e-6)
    assert torch.allclose(g_theirs, g_ours, atol=1e-6, rtol=0)


def test_equivalence_is_not_vacuous_a_ghost_with_one_action_token_changes_the_loss(orl, monkeypatch):
    samples = two_role_samples()
    algo = get_algorithm("grpo")
    torch.manual_seed(1)
    W = torch.randn(V, V, dtype=torch.float64)
    W_old = W + 0.3 * torch.randn(V, V, dtype=torch.float64)
    ours = float(our_loss(W, W_old, samples, algo))
    run = lambda: float(openrlhf_loss(orl, W, W_old, samples, algo, orl.PolicyLoss(**ALGOS["grpo"]), S=24, dp=1,
                                      train_micro=4, rollout_micro=2)[0])
    assert run() == pytest.approx(ours, abs=1e-6)
    real_ghost = orl.layout.ghost_experience

    def visible_ghost(pad_id):
        e = real_ghost(pad_id)
        e.action_mask = torch.ones_like(e.action_mask)
        return e

    monkeypatch.setattr(orl.layout, "ghost_experience", visible_ghost)
    assert abs(run() - ours) > 1e-3


def test_layout_slots_tokens_masks_and_rank_blocks(orl):
    samples = two_role_samples()
    S, dp = 32, 2
    slots = orl.layout.fixed_size_experiences(samples, S, dp, PAD)
    labels = orl.layout.slot_labels(slots)
    assert len(slots) == S and sum(m["pz_role"] == "ghost" for m in labels) == S - len(samples)
    for block in (labels[:S // dp], labels[S // dp:]):  # equal work: each rank gets half the real samples
        assert abs(sum(m["pz_role"] != "ghost" for m in block) - len(samples) / dp) <= 1
    by_key = {(m["pz_role"], m["pz_group"], tuple(e.sequences[0].tolist())): e for e, m in zip(slots, labels,
                                                                                              strict=True)}
    for s in samples:
        e = by_key[(s.role, s.group, tuple(s.prompt_ids + s.completion_ids))]  # token ids untouched
        p, c = len(s.prompt_ids), len(s.completion_ids)
        assert e.action_mask[0].tolist() == [0] * (p - 1) + [1] * c  # OpenRLHF's shifted mask
        assert e.rollout_log_probs[0, p - 1:].tolist() == s.logprobs
        assert bool(e.truncated[0]) == (s.finish_reason == "length")
        assert float(e.rewards[0]) == s.reward
    ghost = next(e for e, m in zip(slots, labels, strict=True) if m["pz_role"] == "ghost")
    assert ghost.sequences.tolist() == [[PAD, PAD]] and int(ghost.action_mask.sum()) == 0
    counts = orl.layout.role_counts(slots)
    assert counts == {"generator": 6.0, "predictor": 12.0, "ghost": S - 18.0, "padding_frac": (S - 18) / S}


def test_advantages_use_explicit_groups_and_ignore_ghosts(orl):
    samples = two_role_samples(1)
    algo = get_algorithm("reinforce_pp")  # batch-wide whitening: ghosts must not enter it
    _, slots, batches = openrlhf_loss(orl, torch.zeros(V, V), torch.zeros(V, V), samples, algo,
                                      orl.PolicyLoss(), S=40, dp=2, train_micro=4, rollout_micro=4)
    expected = algo.advantages(torch.tensor([s.reward for s in samples]), torch.tensor([s.group for s in samples]))
    want = {(s.role, s.group, tuple(s.prompt_ids + s.completion_ids)): float(a) for s, a in zip(samples, expected,
                                                                                                   strict=True)}
    seen = 0
    for e in batches:
        for i, m in enumerate(e.labels):
            adv_row = e.advantages[i][e.action_mask[i].bool()]
            if m["pz_role"] == "ghost":
                assert adv_row.numel() == 0 and float(e.advantages[i].abs().sum()) == 0
                continue
            n = int(e.attention_mask[i].sum())
            key = (m["pz_role"], m["pz_group"], tuple(e.sequences[i, :n].tolist()))
            assert torch.allclose(adv_row, torch.full_like(adv_row, want[key]), atol=1e-6)
            seen += 1
    assert seen == len(samples)


def test_no_kl_means_zero_kl_metrics_not_nan_for_ghosts(orl):
    slots = orl.layout.fixed_size_experiences(two_role_samples(), 24, 1, PAD)
    batches = maker(orl, get_algorithm("dapo"), 1, 4).split_rollout_samples(slots)
    for e in batches:  # what make_experience logs without a reference model: masked mean of zeros
        zeros = torch.zeros_like(e.action_mask, dtype=torch.float32)
        e.info["kl"] = (zeros * e.action_mask).sum(-1) / e.action_mask.sum(-1)
    assert any(torch.isnan(e.info["kl"]).any() for e in batches)  # 0/0 on ghost rows
    out = maker(orl, get_algorithm("dapo"), 1, 4).compute_advantages_and_returns(batches)
    assert all(not torch.isnan(e.info["kl"]).any() and e.kl is None for e in out)


def test_logprob_gap_measures_training_vs_rollout_logprobs(orl):
    samples = two_role_samples(2)
    for s in samples:
        s.logprobs = [-0.5] * len(s.completion_ids)
    slots = orl.layout.fixed_size_experiences(samples, 24, 1, PAD)
    batches = maker(orl, get_algorithm("dapo"), 1, 4).split_rollout_samples(slots)
    for e in batches:  # the trainer's log-probs are the rollout's shifted by 0.1 on action tokens
        e.action_log_probs = (e.rollout_log_probs - 0.1) * e.action_mask
    assert orl.layout.logprob_gap(batches) == pytest.approx(0.1, abs=1e-6)
    for e in batches:  # an off-by-one action mask would compare the wrong positions
        e.action_log_probs = torch.roll(e.rollout_log_probs, 1, dims=1) * e.action_mask
    assert orl.layout.logprob_gap(batches) > 0.1


def test_too_many_samples_or_indivisible_size_is_refused(orl):
    samples = two_role_samples()
    with pytest.raises(ValueError, match="raise --train.batch_size"):
        orl.layout.fixed_size_experiences(samples, len(samples) - 1, 1, PAD)
    with pytest.raises(ValueError, match="not divisible"):
        orl.layout.fixed_size_experiences(samples, 33, 2, PAD)


def test_user_algorithm_with_per_token_advantages_is_refused_clearly(orl):
    class PerToken:
        def advantages(self, rewards, group_ids):
            return rewards[:, None].expand(-1, 3)

    slots = orl.layout.fixed_size_experiences(two_role_samples(), 24, 1, PAD)
    with pytest.raises(ValueError, match="one value per sample"):
        orl.layout.assign_advantages(slots, PerToken())


def test_fixed_batch_size_arithmetic():
    assert fixed_batch_size(32 * 8 * 9, 8, 8, 4, 8) == 2304  # the paper's step on one 8-GPU node
    assert fixed_batch_size(4 * 4 * 5, 4, 1, 4, 8) == 80  # the 1-GPU smoke recipe
    assert fixed_batch_size(100, 8, 2, 4, 8) == 112  # lcm(8, 8, 16) = 16
    with pytest.raises(ValueError, match="dp must be >= 1"):
        fixed_batch_size(10, 2, 0, 1, 1)
    r = SimpleNamespace(mode="pretrainzero", paragraphs_per_step=32, g_gen=8, g_pred=8, random_masks_per_paragraph=1,
                        cold_start_steps=0)
    assert raw_step_samples(r) == 2304
    r.mode = "random-rlpt"
    assert raw_step_samples(r) == 256
    r.mode, r.cold_start_steps, r.g_gen, r.random_masks_per_paragraph = "pretrainzero", 100, 1, 4
    assert raw_step_samples(r) == max(32 * 1 * 9, 32 * 4 * 8)
