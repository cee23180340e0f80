"""A complete user-defined RL algorithm (the README's example) plus a toy reward for tests.

Use it from a recipe with ``algorithm: user_algo_example:SignedReinforce`` (module on PYTHONPATH).
"""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SignedReinforce:
    """REINFORCE on the sign of the group-relative reward: +1 above the group mean, -1 below."""

    aggregation: str = "token"  # loss is a mean over action tokens

    def advantages(self, rewards: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
        _, inv = torch.unique(group_ids, return_inverse=True)
        sums = torch.zeros(int(inv.max()) + 1).index_add_(0, inv, rewards)
        counts = torch.zeros_like(sums).index_add_(0, inv, torch.ones_like(rewards))
        return torch.sign(rewards - (sums / counts)[inv])

    def loss(self, new_logp, old_logp, adv, mask):
        ratio = torch.exp(new_logp - old_logp)  # == 1 on-policy; gradient is that of new_logp
        return -(ratio * adv[:, None] * mask).sum() / mask.sum().clamp(min=1)


@dataclass(frozen=True)
class NaNAlgorithm(SignedReinforce):
    """Always returns a NaN loss (to test the trainer's non-finite-loss handling)."""

    def loss(self, new_logp, old_logp, adv, mask):
        return (new_logp * mask).sum() * float("nan")


def length_reward(model, tokenizer, modulus: int = 3):
    """Toy dense predictor reward (the length of the answer modulo ``modulus``): varied rewards even
    for a random tiny model, so every group carries signal in tests."""

    def fn(prompts, completions, answers):
        return [float(len(c) % modulus) for c in completions]

    return fn
