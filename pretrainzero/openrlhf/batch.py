"""The fixed number of samples ``S`` of every OpenRLHF step.

OpenRLHF fixes its DeepSpeed gradient accumulation at start-up (``train_batch_size = S``), cuts
each step's samples into one equal chunk per data-parallel rank, and normalises the loss per
window of ``gas`` micro-batches. A PretrainZero step yields a varying number of samples, so every
step is padded up to a constant ``S`` (see :mod:`.layout`), the smallest multiple of
``lcm(n, dp * train_micro, dp * rollout_micro)`` that holds the largest possible step.
"""

from __future__ import annotations

import math
from typing import Any


def raw_step_samples(recipe: Any) -> int:
    """The most samples one step of ``recipe`` can produce (``S_raw``).

    PretrainZero mode: ``P * G_gen`` generator samples plus ``G_pred`` predictions for each of
    them; random-RLPT / RPT: ``P * random_masks_per_paragraph * G_pred``. A random-RLPT cold start
    before active masking needs room for both kinds of step.
    """
    predictor_only = recipe.paragraphs_per_step * recipe.random_masks_per_paragraph * recipe.g_pred
    if recipe.mode != "pretrainzero":
        return predictor_only
    full = recipe.paragraphs_per_step * recipe.g_gen * (1 + recipe.g_pred)
    return max(full, predictor_only) if recipe.cold_start_steps else full


def fixed_batch_size(s_raw: int, n: int, dp: int, train_micro: int, rollout_micro: int) -> int:
    """``S``: ``s_raw`` rounded up to a multiple of ``lcm(n, dp * train_micro, dp * rollout_micro)``."""
    for name, v in (("s_raw", s_raw), ("n", n), ("dp", dp), ("train_micro", train_micro),
                    ("rollout_micro", rollout_micro)):
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    unit = math.lcm(n, dp * train_micro, dp * rollout_micro)
    return -(-s_raw // unit) * unit
