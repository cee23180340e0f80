"""A PretrainZero step's two-role batch as OpenRLHF experiences, padded to a fixed size.

OpenRLHF's training side assumes the same number of samples every step: DeepSpeed's gradient
accumulation is fixed at start-up, the controller cuts the sample list into one chunk per
data-parallel rank, and ``iter_grad_accum_global_norm`` normalises the loss per window of ``gas``
micro-batches. A ragged step would leave ranks with unequal micro-batch counts (a collective hang)
or carry half a gradient-accumulation window into the next step (stale gradients).

So each step is padded to the constant ``S`` (:mod:`.batch`) with *ghost* samples: two pad tokens,
an all-zero action mask, reward and advantage 0. OpenRLHF's loss normaliser counts only action
tokens (``token-mean``) or sequences with at least one action token (``seq-mean-token-mean``), so
ghosts change neither the loss nor its gradient: the update equals our algorithm's loss over the
real samples. Samples are spread over the ranks by OpenRLHF's own length balancer, so every rank
gets ``S / dp`` samples of similar total length.

Each slot's role and advantage group ride in ``Experience.labels`` (plain dicts, which OpenRLHF's
concat/split functions carry along untouched), so advantages are computed on explicit group ids:
G_gen != G_pred and any ``Algorithm`` work, unlike OpenRLHF's ``rewards.reshape(-1, n)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch
from openrlhf.trainer.ppo_utils.experience import Experience
from openrlhf.utils.seqlen_balancing import get_seqlen_balanced_partitions

from ..rl.step import Sample

GHOST = "ghost"


def sample_experience(sample: Sample) -> Experience:
    """One real sample, laid out exactly as OpenRLHF lays out a rollout (``SamplesGenerator``).

    ``sequences`` is prompt + completion token ids as the engine saw and produced them (no
    re-tokenisation); ``action_mask`` and ``rollout_log_probs`` are over positions 1..T-1, i.e.
    entry ``t`` belongs to token ``t + 1``, which is how ``Actor.forward`` returns log-probs.
    """
    p, c = len(sample.prompt_ids), len(sample.completion_ids)
    if p < 1 or c < 1:
        raise ValueError(f"a sample needs a prompt and a completion, got {p} and {c} tokens")
    logprobs = list(sample.logprobs[:c]) + [0.0] * max(0, c - len(sample.logprobs))
    total = p + c
    reward = torch.tensor([float(sample.reward)])
    return Experience(
        sequences=torch.tensor([sample.prompt_ids + sample.completion_ids], dtype=torch.long),
        attention_mask=torch.ones(1, total, dtype=torch.long),
        action_mask=torch.tensor([[0] * (p - 1) + [1] * c], dtype=torch.long),
        rollout_log_probs=torch.tensor([[0.0] * (p - 1) + logprobs], dtype=torch.float32),
        rewards=reward,
        scores=reward.clone(),
        response_length=torch.tensor([c]),
        truncated=torch.tensor([sample.finish_reason == "length"]),
        total_length=torch.tensor([float(total)]),
        prompts=[""],
        labels=[{"pz_role": sample.role, "pz_group": int(sample.group)}],
        images=[None],
        mm_train_inputs=[None],
        info={"reward": reward.clone(), "response_clip_ratio": torch.tensor([False])},
    )


def ghost_experience(pad_id: int) -> Experience:
    """A slot that carries no loss: two pad tokens, no action token, reward 0."""
    zero = torch.tensor([0.0])
    return Experience(
        sequences=torch.tensor([[pad_id, pad_id]], dtype=torch.long),
        attention_mask=torch.ones(1, 2, dtype=torch.long),
        action_mask=torch.zeros(1, 1, dtype=torch.long),
        rollout_log_probs=torch.zeros(1, 1, dtype=torch.float32),
        rewards=zero,
        scores=zero.clone(),
        response_length=torch.tensor([0]),
        truncated=torch.tensor([False]),
        total_length=torch.tensor([2.0]),
        prompts=[""],
        labels=[{"pz_role": GHOST, "pz_group": -1}],
        images=[None],
        mm_train_inputs=[None],
        info={"reward": zero.clone(), "response_clip_ratio": torch.tensor([False])},
    )


def fixed_size_experiences(samples: Sequence[Sample], size: int, dp: int, pad_id: int) -> list[Experience]:
    """``size`` single-sample experiences: the real ones plus ghosts, rank-major.

    Slot block ``r`` (``size / dp`` consecutive slots) is what data-parallel rank ``r`` trains on;
    the blocks are balanced by total sequence length with OpenRLHF's Karmarkar-Karp partitioner.
    """
    if size % dp:
        raise ValueError(f"the step size {size} is not divisible by the {dp} data-parallel ranks")
    if len(samples) > size:
        raise ValueError(f"the step produced {len(samples)} samples but the fixed step size is {size}; "
                         "raise --train.batch_size (see pretrainzero.openrlhf.batch)")
    items = [sample_experience(s) for s in samples] + [ghost_experience(pad_id) for _ in range(size - len(samples))]
    parts = get_seqlen_balanced_partitions([int(e.total_length.item()) for e in items], dp, equal_size=True)
    return [items[i] for part in parts for i in part]


def slot_labels(experiences: Sequence[Experience]) -> list[dict[str, Any]]:
    """The per-slot ``{"pz_role", "pz_group"}`` of a list of (possibly concatenated) experiences."""
    return list(itertools.chain.from_iterable(e.labels for e in experiences))


@torch.no_grad()
def assign_advantages(experiences: Sequence[Experience], algorithm: Any) -> None:
    """Set ``advantages``/``returns`` from ``algorithm.advantages(rewards, group_ids)`` on real slots.

    Ghosts are left out of the estimate (a batch-wide normaliser such as REINFORCE++'s must not see
    them) and get advantage 0. The sequence advantage is broadcast over the action tokens.
    """
    labels = slot_labels(experiences)
    rewards = torch.cat([e.rewards for e in experiences]).float()
    real = torch.tensor([m["pz_role"] != GHOST for m in labels], dtype=torch.bool)
    groups = torch.tensor([m["pz_group"] for m in labels], dtype=torch.long)
    adv = torch.zeros(len(labels), dtype=torch.float32)
    if real.any():
        a = algorithm.advantages(rewards[real], groups[real])
        if a.dim() != 1 or a.numel() != int(real.sum()):
            raise ValueError(f"algorithm {type(algorithm).__name__}.advantages must return one value per sample "
                             f"(shape [{int(real.sum())}]), got shape {list(a.shape)}")
        adv[real] = a.float()
    for e, a, r in zip(experiences, adv.split([len(e.labels) for e in experiences]), rewards.split(
            [len(e.labels) for e in experiences]), strict=True):
        e.advantages = a[:, None] * e.action_mask.float()
        e.returns = e.advantages.clone()
        e.info["return"] = r.clone()
        e.kl = None  # as OpenRLHF does: not needed after this point


@torch.no_grad()
def logprob_gap(experiences: Sequence[Experience]) -> float | None:
    """Mean |training log-prob - rollout (vLLM) log-prob| over real action tokens, in nats.

    ``action_log_probs`` come from OpenRLHF's DeepSpeed actor, ``rollout_log_probs`` from the vLLM
    engine that sampled the tokens. Near 0 when the two agree on the policy and on the alignment of
    tokens (an off-by-one action mask shows up as a gap of several nats).
    """
    num, den = 0.0, 0.0
    for e in experiences:
        if e.action_log_probs is None or e.rollout_log_probs is None:
            continue
        m = e.action_mask.float()
        num += float(((e.action_log_probs.float() - e.rollout_log_probs.float()).abs() * m).sum())
        den += float(m.sum())
    return num / den if den else None


def role_counts(experiences: Sequence[Experience]) -> dict[str, float]:
    """Slots per role (``generator``, ``predictor``, ``ghost``) and the padding fraction."""
    labels = slot_labels(experiences)
    counts = {role: float(sum(m["pz_role"] == role for m in labels)) for role in ("generator", "predictor", GHOST)}
    counts["padding_frac"] = counts[GHOST] / len(labels) if labels else 0.0
    return counts
