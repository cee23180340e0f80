"""Dr. GRPO (Liu et al. 2025, "GRPO done right"): no std division, no per-length normalisation.

Advantage = reward minus group mean. The loss sums the clipped surrogate over tokens and divides
by a constant (``norm_len``, default: the padded length of the batch) instead of each response's
length, which removes GRPO's bias towards long wrong answers. Set ``norm_len`` (e.g. to the
recipe's ``max_response_tokens``) to make the constant independent of micro-batch padding.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .base import clipped_surrogate, group_stats


@dataclass(frozen=True)
class DrGRPO:
    eps_low: float = 0.2
    eps_high: float = 0.2
    norm_len: int | None = None
    aggregation: str = "sequence"

    def advantages(self, rewards: Tensor, group_ids: Tensor) -> Tensor:
        mean, _, _ = group_stats(rewards, group_ids)
        return rewards - mean

    def loss(self, new_logp: Tensor, old_logp: Tensor, adv: Tensor, mask: Tensor) -> Tensor:
        per_tok = clipped_surrogate(new_logp, old_logp, adv, self.eps_low, self.eps_high) * mask
        norm = self.norm_len or mask.shape[-1]
        return per_tok.sum() / (max(mask.shape[0], 1) * norm)
