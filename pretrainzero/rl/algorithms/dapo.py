"""DAPO (Yu et al. 2025) as PretrainZero uses it: GRPO advantages, clip-higher, token-level loss.

Clip-higher: the ratio may rise to ``1 + eps_high`` (0.28) but fall only to ``1 - eps_low``
(0.2), which keeps low-probability tokens explorable. Token-level aggregation: every action token
of the batch weighs the same, so long responses are not down-weighted. Dynamic sampling (dropping
groups whose rewards are all equal) happens in the step, before advantages.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .base import EPS, clipped_surrogate, group_stats, token_mean


@dataclass(frozen=True)
class DAPO:
    eps_low: float = 0.2
    eps_high: float = 0.28
    aggregation: str = "token"

    def advantages(self, rewards: Tensor, group_ids: Tensor) -> Tensor:
        mean, std, _ = group_stats(rewards, group_ids)
        return (rewards - mean) / (std + EPS)

    def loss(self, new_logp: Tensor, old_logp: Tensor, adv: Tensor, mask: Tensor) -> Tensor:
        return token_mean(clipped_surrogate(new_logp, old_logp, adv, self.eps_low, self.eps_high), mask)
