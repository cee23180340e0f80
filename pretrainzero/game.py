r"""The game's rules, composed once: propose a mask, score a prediction.

Every consumer of the PretrainZero game (the envs, the RL step, held-out evaluation, the
verifiers adapter) goes through these two functions instead of recomposing parsing, validation
and matching itself, so one change of rule reaches all of them:

* :func:`parse_mask`: the generator's completion -> its last ``\mask{...}`` (after ``<think>``
  stripping) -> the paper's validity rule (:func:`~pretrainzero.masking.apply_mask`);
* :class:`PredictionRule`: the predictor's completion -> its last ``\boxed{...}`` (after
  ``<think>`` stripping) -> exact match with the hidden span (strict, SQuAD-normalised, or
  RPT-style prefix match).

The generator's reward from its predictions is :func:`pretrainzero.rewards.generator_reward`.
Pure functions; no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .masking import InvalidMask, MaskedExample, MaskRule, apply_mask
from .parsing import last_mask, strip_think
from .rewards import exact_match, extract_prediction, prefix_match


def parse_mask(
    paragraph: str, completion: str, *, rule: MaskRule = "default", rng: Any = None, think: bool = True
) -> MaskedExample | InvalidMask:
    r"""Validate the last ``\mask{}`` of a generator completion against the paragraph (paper rule)."""
    return apply_mask(paragraph, last_mask(strip_think(completion) if think else completion), rule=rule, rng=rng)


@dataclass(frozen=True, slots=True)
class Judged:
    """A scored prediction: the parsed answer (None when nothing was boxed) and its reward."""

    prediction: str | None
    reward: float


@dataclass(frozen=True)
class PredictionRule:
    r"""How a predictor completion is scored against the hidden span.

    ``normalized`` folds case, punctuation and articles (SQuAD); ``prefix`` accepts a prefix of the
    continuation ending on a word boundary (RPT); ``think`` drops ``<think>...</think>`` first.
    """

    normalized: bool = False
    prefix: bool = False
    think: bool = True

    def judge(self, completion: str, answer: str) -> Judged:
        prediction = extract_prediction(completion, think=self.think)
        if self.prefix:
            return Judged(prediction, prefix_match(prediction, answer))
        return Judged(prediction, exact_match(prediction, answer, normalized=self.normalized))

    def score(self, completion: str, answer: str) -> float:
        return self.judge(completion, answer).reward
