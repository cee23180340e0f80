"""GRPO (Shao et al. 2024): advantage = reward z-scored within its group; PPO-clip loss.

The original aggregation: average the clipped surrogate over each sequence's tokens, then over
sequences. No KL term (PretrainZero uses none).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .base import EPS, clipped_surrogate, group_stats, sequence_mean


@dataclass(frozen=True)
class GRPO:
    eps_low: float = 0.2
    eps_high: float = 0.2
    scale_rewards: bool = True  # divide by the group std (False gives Dr.GRPO's advantage)
    aggregation: str = "sequence"

    def advantages(self, rewards: Tensor, group_ids: Tensor) -> Tensor:
        mean, std, _ = group_stats(rewards, group_ids)
        adv = rewards - mean
        return adv / (std + EPS) if self.scale_rewards else adv

    def loss(self, new_logp: Tensor, old_logp: Tensor, adv: Tensor, mask: Tensor) -> Tensor:
        return sequence_mean(clipped_surrogate(new_logp, old_logp, adv, self.eps_low, self.eps_high), mask)
