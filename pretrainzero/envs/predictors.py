r"""Predictors for the generator envs: ``predict(prompts, n) -> list[list[str]]``.

The trainer injects the real policy. :class:`HeuristicPredictor` is a model-free stand-in so a
registered ``MaskGeneration`` env runs (and passes ``check_env``) on its own: for each prompt it
guesses ``n`` words drawn from the masked passage and from ``hints`` (e.g. the article title),
each as ``\boxed{word}``. It solves masks whose answer is a hint word or still appears in the
passage (OneMask) and little else; it is not a measure of anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..masking import MASK_TOKEN, WORD_RE

Predictor = Callable[[list[str], int], list[list[str]]]


@dataclass(frozen=True)
class HeuristicPredictor:
    """Seeded word guesser; ``rng`` needs ``integers(n)`` (numpy Generator or EpisodeRng)."""

    rng: Any
    hints: tuple[str, ...] = ()

    def __call__(self, prompts: list[str], n: int) -> list[list[str]]:
        out = []
        for prompt in prompts:
            # the passage sits between the template's first line and its instruction line
            body = prompt.split("\n", 1)[-1].rsplit("\n", 1)[0].replace(MASK_TOKEN, " ")
            pool = list(self.hints) + WORD_RE.findall(body)
            out.append([f"\\boxed{{{pool[self.rng.integers(len(pool))]}}}" if pool else "" for _ in range(n)])
        return out


def title_hints(title: str) -> tuple[str, ...]:
    """The title and its words, as guesses for :class:`HeuristicPredictor`."""
    words = tuple(WORD_RE.findall(title))
    return (title, *words) if title and words != (title,) else words


def run_predictor(predict: Predictor, prompt: str, n: int) -> list[str]:
    """Call ``predict([prompt], n)`` and check it answered with ``n`` strings."""
    groups = predict([prompt], n)
    if not isinstance(groups, Sequence) or len(groups) != 1 or len(groups[0]) != n:
        raise ValueError(f"predictor must return [[{n} completions]] for one prompt, got {groups!r:.200}")
    return [str(c) for c in groups[0]]
