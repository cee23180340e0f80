r"""``MaskedSpan``: the predictor task. Recover a hidden span of a paragraph.

Observation: the paper's prediction prompt (Figure 5) for a paragraph masked by ``masker``
(default: random word spans, the paper's Random RLPT baseline). Action: a completion. Reward:
1.0 when the last ``\boxed{}`` equals the hidden span (strict; ``normalized=True`` folds case,
punctuation and articles), else 0.0. One step per episode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..game import PredictionRule
from ..masking import MaskedExample, Masker, make_masker
from ..parsing import last_boxed
from ..prompts import prediction_prompt
from ..types import Paragraph
from .base import MAX_SKIPS, CorpusEnv, as_text
from .rng import EpisodeRng

MAX_REDRAWS = 4  # masker calls per paragraph before it is skipped


def answerable(answer: str) -> bool:
    r"""Whether ``\boxed{answer}`` parses back to ``answer``: a span with an unbalanced brace
    (common in Wikipedia's ``{\displaystyle ...}`` math) could never be answered."""
    plain = "{" not in answer and "}" not in answer and "\\" not in answer
    return plain or last_boxed(f"\\boxed{{{answer}}}") == answer


class MaskedSpanEnv(CorpusEnv):
    """Predict a masked span; see the module docstring."""

    role = "predictor"

    def __init__(
        self,
        corpus: str | Sequence[Paragraph | str] = "wiki-vital-en",
        *,
        masker: str | Masker = "random-span",
        masker_kwargs: Mapping[str, Any] | None = None,
        normalized: bool = False,
        prefix: bool = False,
        think: bool = True,
        **base: Any,
    ):
        super().__init__(corpus, **base)
        self.masker = make_masker(masker, masker_kwargs)
        self.rule = PredictionRule(normalized=normalized, prefix=prefix, think=think)
        self._example: MaskedExample | None = None
        self._paragraph_id = ""
        self._seed = 0

    def _mask(self, seed: int | None, options: dict[str, Any] | None) -> tuple[Paragraph, int, MaskedExample]:
        """The episode's paragraph and target; skips paragraphs the masker finds no target in."""
        episode_seed, index, mask_seed = self._episode(seed, options)
        paragraph = self.paragraph(index)
        example = self.masker(paragraph.text, EpisodeRng(mask_seed))
        if example is not None and answerable(example.answer):  # the usual case, kept short
            return paragraph, episode_seed, example
        pinned = options is not None and (
            options.get("paragraph_id") is not None or options.get("index") is not None
        )
        n = len(self.corpus)
        for k in range(1 if pinned else min(MAX_SKIPS, n)):
            paragraph = self.paragraph((index + k) % n)
            rng = EpisodeRng(mask_seed)
            for _ in range(MAX_REDRAWS):
                example = self.masker(paragraph.text, rng)
                if example is None:
                    break
                if answerable(example.answer):
                    return paragraph, episode_seed, example
        where = f"paragraph {paragraph.id!r}" if pinned else f"{MAX_SKIPS} paragraphs of {self.corpus_name!r}"
        raise ValueError(f"the masker found no target in {where}")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        paragraph, episode_seed, example = self._mask(seed, options)
        self._example, self._paragraph_id, self._seed = example, paragraph.id, episode_seed
        obs = self._start(prediction_prompt(example))
        return obs, {
            "paragraph_id": paragraph.id,
            "seed": episode_seed,
            "role": self.role,
            "answer": example.answer,
            "start": example.start,
            "occurrences": example.occurrences,
        }

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        self._finish()
        self._done = True
        assert self._example is not None
        answer = self._example.answer
        judged = self.rule.judge(as_text(action), answer)
        prediction, reward = judged.prediction, judged.reward
        self._obs = ""
        return (
            "",
            reward,
            True,
            False,
            {
                "paragraph_id": self._paragraph_id,
                "seed": self._seed,
                "role": self.role,
                "answer": answer,
                "prediction": prediction,
                "correct": reward == 1.0,
            },
        )
