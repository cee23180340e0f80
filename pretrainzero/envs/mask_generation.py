r"""``MaskGeneration``: the generator task. Choose a span worth predicting.

Observation: the paper's mask-generation prompt (Figure 5). Action: a completion whose last
``\mask{...}`` names a span. The span is validated with the paper's rule (``mask_rule``:
``default``, ``onemask`` or ``words``); an invalid mask scores 0. A valid mask is shown to an
injected ``predictor(prompts, n)`` G times and the generator reward is a shape (``paper``,
``rzero``, ``gaussian``) of the predictor's accuracy. Without a predictor a seeded
:class:`~pretrainzero.envs.predictors.HeuristicPredictor` stands in. One step per episode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ..game import PredictionRule, parse_mask
from ..masking import InvalidMask, MaskedExample, MaskRule, apply_mask
from ..prompts import generation_prompt, prediction_prompt
from ..rewards import GENERATOR_SHAPES, generator_reward
from ..types import Paragraph
from .base import CorpusEnv, as_text
from .predictors import HeuristicPredictor, Predictor, run_predictor, title_hints
from .rng import EpisodeRng


def group_keys(paragraph_id: str, seed: int, mask: MaskedExample | None = None) -> dict[str, str]:
    """Keys a trainer groups rollouts by: masks of one paragraph visit (generator) and
    predictions of one mask (predictor)."""
    keys = {"generator": f"{paragraph_id}@{seed}"}
    if mask is not None:
        digest = hashlib.blake2b(f"{mask.start}:{mask.answer}".encode(), digest_size=8).hexdigest()
        keys["predictor"] = f"{keys['generator']}#{digest}"
    return keys


def mask_info(result: MaskedExample | InvalidMask) -> dict[str, Any]:
    """What the info dict says about a proposed mask, valid or not."""
    if isinstance(result, InvalidMask):
        return {"valid": False, "reason": result.reason, "span": result.span, "occurrences": 0, "start": -1}
    return {
        "valid": True,
        "reason": None,
        "span": result.answer,
        "occurrences": result.occurrences,
        "start": result.start,
    }


class MaskGenerationEnv(CorpusEnv):
    """Propose a mask, scored by a predictor's accuracy on it; see the module docstring."""

    role = "generator"
    rewards = "mask"  # a generator reward from the injected predictor's accuracy

    def __init__(
        self,
        corpus: str | Sequence[Paragraph | str] = "wiki-vital-en",
        *,
        predictor: Predictor | None = None,
        n_predictions: int = 8,
        shape: str = "paper",
        mask_rule: MaskRule = "default",
        normalized: bool = False,
        think: bool = True,
        **base: Any,
    ):
        super().__init__(corpus, **base)
        if shape not in GENERATOR_SHAPES:
            raise ValueError(
                f"unknown generator reward shape {shape!r}; choose one of {sorted(GENERATOR_SHAPES)}"
            )
        if n_predictions < 1:
            raise ValueError(f"n_predictions must be >= 1, got {n_predictions}")
        apply_mask("x", "x", rule=mask_rule)  # fail fast on an unknown rule
        self.predictor = predictor
        self.n_predictions = n_predictions
        self.shape = shape
        self.mask_rule = mask_rule
        self.rule = PredictionRule(normalized=normalized, think=think)
        self._paragraph = self.NO_PARAGRAPH
        self._seed = 0
        self._rng = EpisodeRng(0)

    def _begin(self, seed: int | None, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        episode_seed, index, mask_seed = self._episode(seed, options)
        paragraph = self.paragraph(index)
        self._paragraph, self._seed, self._rng = paragraph, episode_seed, EpisodeRng(mask_seed)
        obs = self._start(generation_prompt(paragraph.text))
        return obs, {
            "paragraph_id": paragraph.id,
            "seed": episode_seed,
            "role": "generator",
            "paragraph": paragraph.text,
            "group_keys": group_keys(paragraph.id, episode_seed),
        }

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        return self._begin(seed, options)

    def _predict(self, mask: MaskedExample) -> tuple[str, list[str], list[float]]:
        prompt = prediction_prompt(mask)
        predict = self.predictor
        if predict is None:
            title = str(self._paragraph.meta.get("title") or "")
            predict = HeuristicPredictor(self._rng, title_hints(title))
        completions = run_predictor(predict, prompt, self.n_predictions)
        rewards = [self.rule.score(c, mask.answer) for c in completions]
        return prompt, completions, rewards

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        self._finish()
        self._done = True
        paragraph = self._paragraph
        result = parse_mask(paragraph.text, as_text(action), rule=self.mask_rule, rng=self._rng, think=self.rule.think)
        info: dict[str, Any] = {"paragraph_id": paragraph.id, "seed": self._seed, "role": "generator"}
        info.update(mask_info(result))
        reward = 0.0
        if isinstance(result, MaskedExample):
            prompt, completions, rewards = self._predict(result)
            reward = generator_reward(rewards, shape=self.shape)
            info.update(
                masked_prompt=prompt,
                answer=result.answer,
                predictions=completions,
                predictor_rewards=rewards,
                accuracy=sum(r > 0 for r in rewards) / len(rewards),
            )
        valid_mask = result if isinstance(result, MaskedExample) else None
        info["group_keys"] = group_keys(paragraph.id, self._seed, valid_mask)
        self._obs = ""
        return "", reward, True, False, info
