"""The algorithm contract and the few tensor helpers every algorithm file shares.

An algorithm is an advantage estimator plus a policy loss. Shapes: ``rewards`` and
``group_ids`` are ``[B]`` (one per sampled sequence); ``new_logp``, ``old_logp`` and ``mask``
are per token ``[B, T]``; ``adv`` is ``[B]`` (broadcast over tokens) or ``[B, T]``.
``aggregation`` tells the trainer how to weight micro-batches so that gradient accumulation
reproduces the full-batch loss: ``"token"`` (loss is a mean over all action tokens) or
``"sequence"`` (a mean over sequences).
"""

from __future__ import annotations

from typing import Literal, Protocol

import torch
from torch import Tensor

Aggregation = Literal["token", "sequence"]
EPS = 1e-6


class Algorithm(Protocol):
    aggregation: Aggregation

    def advantages(self, rewards: Tensor, group_ids: Tensor) -> Tensor: ...

    def loss(self, new_logp: Tensor, old_logp: Tensor, adv: Tensor, mask: Tensor) -> Tensor: ...


def group_stats(values: Tensor, group_ids: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample group mean, unbiased group std (0 for singleton groups) and group size."""
    _, inv = torch.unique(group_ids, return_inverse=True)
    n_groups = int(inv.max()) + 1 if inv.numel() else 0
    v = values.to(torch.float64)
    count = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, inv, torch.ones_like(v))
    mean = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, inv, v) / count
    sq = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, inv, (v - mean[inv]) ** 2)
    std = torch.where(count > 1, (sq / (count - 1).clamp(min=1)).sqrt(), torch.zeros_like(sq))
    dt = values.dtype if values.is_floating_point() else torch.float32
    return mean[inv].to(dt), std[inv].to(dt), count[inv].to(dt)


def per_token(adv: Tensor, like: Tensor) -> Tensor:
    """Broadcast sequence advantages ``[B]`` to ``[B, T]``."""
    return adv.unsqueeze(-1).expand_as(like) if adv.dim() == 1 else adv


def clipped_surrogate(new_logp: Tensor, old_logp: Tensor, adv: Tensor, eps_low: float, eps_high: float) -> Tensor:
    """PPO's per-token ``-min(rho A, clip(rho, 1-eps_low, 1+eps_high) A)``."""
    ratio = torch.exp(new_logp - old_logp)
    adv = per_token(adv, new_logp)
    return -torch.minimum(ratio * adv, torch.clamp(ratio, 1 - eps_low, 1 + eps_high) * adv)


def token_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over every action token of the batch (DAPO's token-level aggregation)."""
    return (x * mask).sum() / mask.sum().clamp(min=1)


def sequence_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over tokens within each sequence, then over sequences (GRPO's original aggregation)."""
    per_seq = (x * mask).sum(-1) / mask.sum(-1).clamp(min=1)
    return per_seq.mean() if per_seq.numel() else x.sum() * 0
