r"""``ActiveMasking``: the whole PretrainZero game in one two-step episode.

Step 1 (generator): observation = the mask-generation prompt; action = a completion with
``\mask{...}``. An invalid mask ends the episode with reward 0. Step 2 (predictor): observation =
the prediction prompt for the masked paragraph; action = a completion with ``\boxed{...}``;
reward = exact match. ``info`` carries what a trainer needs to form both roles' groups: the
paragraph id and episode seed, the span, its validity and reason, occurrences, the masked prompt,
the acting role and the group keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..game import PredictionRule, parse_mask
from ..masking import MaskedExample, MaskRule, apply_mask
from ..prompts import generation_prompt, prediction_prompt
from ..types import Paragraph
from .base import CorpusEnv, as_text
from .mask_generation import group_keys, mask_info
from .rng import EpisodeRng


class ActiveMaskingEnv(CorpusEnv):
    """Mask, then predict; see the module docstring."""

    role = "generator"

    def __init__(
        self,
        corpus: str | Sequence[Paragraph | str] = "wiki-vital-en",
        *,
        mask_rule: MaskRule = "default",
        normalized: bool = False,
        think: bool = True,
        **base: Any,
    ):
        super().__init__(corpus, **base)
        apply_mask("x", "x", rule=mask_rule)  # fail fast on an unknown rule
        self.mask_rule = mask_rule
        self.rule = PredictionRule(normalized=normalized, think=think)
        self._paragraph = self.NO_PARAGRAPH
        self._seed = 0
        self._rng = EpisodeRng(0)
        self._mask: MaskedExample | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        episode_seed, index, mask_seed = self._episode(seed, options)
        paragraph = self.paragraph(index)
        self._paragraph, self._seed, self._rng, self._mask = (
            paragraph,
            episode_seed,
            EpisodeRng(mask_seed),
            None,
        )
        obs = self._start(generation_prompt(paragraph.text))
        return obs, {
            "paragraph_id": paragraph.id,
            "seed": episode_seed,
            "role": "generator",
            "phase": "mask",
            "paragraph": paragraph.text,
            "group_keys": group_keys(paragraph.id, episode_seed),
        }

    def _info(self, role: str, phase: str) -> dict[str, Any]:
        return {"paragraph_id": self._paragraph.id, "seed": self._seed, "role": role, "phase": phase}

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        self._finish()
        if self._mask is None:
            return self._mask_step(action)
        return self._predict_step(action)

    def _mask_step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        result = parse_mask(
            self._paragraph.text, as_text(action), rule=self.mask_rule, rng=self._rng, think=self.rule.think
        )
        info = self._info("generator", "mask")
        info.update(mask_info(result))
        if not isinstance(result, MaskedExample):
            self._done = True
            self._obs = ""
            info["group_keys"] = group_keys(info["paragraph_id"], self._seed)
            return "", 0.0, True, False, info
        self._mask = result
        obs = self._start(prediction_prompt(result))
        info.update(masked_prompt=obs, answer=result.answer, next_role="predictor")
        info["group_keys"] = group_keys(info["paragraph_id"], self._seed, result)
        return obs, 0.0, False, False, info

    def _predict_step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        self._done = True
        mask = self._mask
        assert mask is not None
        judged = self.rule.judge(as_text(action), mask.answer)
        prediction, reward = judged.prediction, judged.reward
        info = self._info("predictor", "predict")
        info.update(mask_info(mask))
        info.update(
            masked_prompt=self._obs,
            answer=mask.answer,
            prediction=prediction,
            correct=reward == 1.0,
            group_keys=group_keys(info["paragraph_id"], self._seed, mask),
        )
        self._obs = ""
        return "", reward, True, False, info
