"""REINFORCE++ with baseline (Hu 2025): group-mean baseline, then batch-wide normalisation.

Advantage = reward minus its group mean, then whitened over the whole batch (mean 0, std 1),
which is more stable than per-group std for tiny groups. PPO-clip loss, token-level mean.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .base import EPS, clipped_surrogate, group_stats, token_mean


@dataclass(frozen=True)
class ReinforcePP:
    eps_low: float = 0.2
    eps_high: float = 0.2
    aggregation: str = "token"

    def advantages(self, rewards: Tensor, group_ids: Tensor) -> Tensor:
        mean, _, _ = group_stats(rewards, group_ids)
        adv = rewards - mean
        if adv.numel() < 2:
            return adv
        return (adv - adv.mean()) / (adv.std() + EPS)

    def loss(self, new_logp: Tensor, old_logp: Tensor, adv: Tensor, mask: Tensor) -> Tensor:
        return token_mean(clipped_surrogate(new_logp, old_logp, adv, self.eps_low, self.eps_high), mask)
