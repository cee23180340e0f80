"""Dr. GRPO (Liu et al. 2025, "GRPO done right"): no std division, no per-length normalisation.

Advantage = reward minus group mean. The loss sums the clipped surrogate over tokens and divides
by a constant, ``norm_len`` times the number of sequences, instead of each response's length,
which removes GRPO's bias towards long wrong answers. The constant is the generation budget: the
trainer passes the recipe's ``max_response_tokens`` (overridable in ``algorithm_kwargs``); it never
depends on how a batch is cut into micro-batches or padded.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .base import clipped_surrogate, group_stats


@dataclass(frozen=True)
class DrGRPO:
    eps_low: float = 0.2
    eps_high: float = 0.2
    norm_len: int = 4096  # the paper's response budget; the trainer sets max_response_tokens
    aggregation: str = "sequence"

    def __post_init__(self) -> None:
        if not isinstance(self.norm_len, int) or self.norm_len < 1:
            raise ValueError(f"norm_len must be a positive integer, got {self.norm_len!r}")

    def advantages(self, rewards: Tensor, group_ids: Tensor) -> Tensor:
        mean, _, _ = group_stats(rewards, group_ids)
        return rewards - mean

    def loss(self, new_logp: Tensor, old_logp: Tensor, adv: Tensor, mask: Tensor) -> Tensor:
        per_tok = clipped_surrogate(new_logp, old_logp, adv, self.eps_low, self.eps_high) * mask
        return per_tok.sum() / (max(mask.shape[0], 1) * self.norm_len)
