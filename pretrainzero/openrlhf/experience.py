"""OpenRLHF's experience maker with PretrainZero advantages (explicit groups, any ``Algorithm``).

OpenRLHF groups rewards as ``rewards.reshape(-1, n_samples_per_prompt)``: one fixed group size for
the whole batch. A PretrainZero step has generator groups of G_gen and predictor groups of G_pred,
minus filtered groups, plus ghost slots; so advantages come from the recipe's algorithm on the
group ids the step assigned (:func:`~pretrainzero.openrlhf.layout.assign_advantages`).
"""

from __future__ import annotations

from typing import Any

import torch
from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker

from .layout import assign_advantages, logprob_gap


class PretrainZeroExperienceMaker(RemoteExperienceMaker):
    """OpenRLHF's experience maker with advantages from our ``Algorithm`` on explicit group ids.

    Only :meth:`compute_advantages_and_returns` is overridden; the actor forward (old log-probs)
    and the micro-batching are OpenRLHF's. Rewards are used as the step computed them (no reward
    clipping, no length penalties).
    """

    def __init__(self, *args: Any, algorithm: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.algorithm = algorithm
        self.last_stats: dict[str, float] = {}

    @torch.no_grad()
    def compute_advantages_and_returns(self, experiences: list[Any]) -> list[Any]:
        assign_advantages(experiences, self.algorithm)
        for e in experiences:  # no reference model: kl is 0, but ghosts (no action token) made it 0/0
            for key in ("kl", "logprobs_diff"):
                if key in e.info:
                    e.info[key] = torch.nan_to_num(e.info[key], nan=0.0)
        gap = logprob_gap(experiences)
        self.last_stats = {"pz/logprob_gap": gap} if gap is not None else {}
        return experiences
