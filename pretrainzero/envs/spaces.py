"""``AnyText``: a Gymnasium space holding any Unicode string up to a maximum length.

``gymnasium.spaces.Text`` only holds characters from a fixed charset (ASCII letters and digits by
default), so real paragraphs fail ``check_env``'s ``obs in observation_space``. This space
accepts every ``str`` and samples adversarial garbage (braces, half-open ``\\boxed{``, Unicode)
so ``action_space.sample()`` exercises the parsers.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

# Pieces sampled into garbage actions: structure the parsers must survive, plus odd Unicode.
_FRAGMENTS = (
    "{",
    "}",
    "\\",
    "\\boxed{",
    "\\mask{",
    "\\{",
    "\\}",
    "<think>",
    "</think>",
    "[mask]",
    " ",
    "\n",
    "\t",
    "é",
    "ß",
    "—",
    "“",
    "中文",
    "🙂",
    "\u200b",
    "\x00",
    "a",
    "Z",
    "0",
    "the",
)


class AnyText(gymnasium.spaces.Space[str]):
    """Every ``str`` of at most ``max_length`` characters (the empty string included)."""

    def __init__(self, max_length: int = 1 << 20, seed: int | np.random.Generator | None = None):
        if max_length < 0:
            raise ValueError(f"max_length must be >= 0, got {max_length}")
        self.max_length = int(max_length)
        super().__init__(shape=None, dtype=object, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """Random garbage from ``self.np_random``: 0-64 fragments, sometimes a lone brace."""
        if mask is not None or probability is not None:
            raise NotImplementedError("AnyText.sample takes no mask or probability")
        rng = self.np_random
        n = int(rng.integers(0, 65))
        picks = rng.integers(0, len(_FRAGMENTS), size=n)
        return "".join(_FRAGMENTS[i] for i in picks)[: self.max_length]

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"AnyText({self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyText) and other.max_length == self.max_length

    def __hash__(self) -> int:
        return hash(("AnyText", self.max_length))

    def to_jsonable(self, sample_n: Any) -> list[str]:
        return list(sample_n)

    def from_jsonable(self, sample_n: list[str]) -> list[str]:
        return list(sample_n)
