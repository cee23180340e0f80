"""RLOO (Kool et al. 2019; Ahmadian et al. 2024): REINFORCE with a leave-one-out baseline.

Each sample's baseline is the mean reward of the *other* samples of its group:
``A_i = r_i - mean_{j != i} r_j = G/(G-1) * (r_i - mean)``. The loss is the plain policy
gradient on the sequence log-probability, averaged over sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .base import group_stats, per_token


@dataclass(frozen=True)
class RLOO:
    aggregation: str = "sequence"

    def advantages(self, rewards: Tensor, group_ids: Tensor) -> Tensor:
        mean, _, count = group_stats(rewards, group_ids)
        scale = count / (count - 1).clamp(min=1)
        return (rewards - mean) * scale * (count > 1)

    def loss(self, new_logp: Tensor, old_logp: Tensor, adv: Tensor, mask: Tensor) -> Tensor:
        return -(per_token(adv, new_logp) * new_logp * mask).sum() / max(mask.shape[0], 1)
