"""Vanilla REINFORCE (Williams 1992): the advantage is the raw reward, no baseline, no clipping.

Loss = minus reward times the sequence log-probability, averaged over sequences. High variance;
here as the simplest reference point.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .base import per_token


@dataclass(frozen=True)
class Reinforce:
    aggregation: str = "sequence"

    def advantages(self, rewards: Tensor, group_ids: Tensor) -> Tensor:
        return rewards.clone()

    def loss(self, new_logp: Tensor, old_logp: Tensor, adv: Tensor, mask: Tensor) -> Tensor:
        return -(per_token(adv, new_logp) * new_logp * mask).sum() / max(mask.shape[0], 1)
