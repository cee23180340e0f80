"""A tiny per-episode random generator keyed by the episode seed.

Every episode is a pure function of ``(paragraph, episode seed)``, so it gets its own generator.
``numpy.random.default_rng(seed)`` costs ~60 us to build, more than a whole masked-span episode
should, so episodes use SplitMix64 (Steele et al. 2014): a 64-bit counter hashed per draw, free to
construct. It implements the part of ``numpy.random.Generator`` the maskers call.
"""

from __future__ import annotations

import math

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


class EpisodeRng:
    """SplitMix64 with a ``numpy.random.Generator``-style ``integers``/``random``/``geometric``."""

    __slots__ = ("_state",)

    def __init__(self, seed: int):
        self._state = seed & _MASK

    def next_u64(self) -> int:
        self._state = z = (self._state + _GOLDEN) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def integers(self, low: int, high: int | None = None) -> int:
        """Uniform int in ``[low, high)`` (``[0, low)`` with one argument), like numpy."""
        if high is None:
            low, high = 0, low
        span = int(high) - int(low)
        if span <= 0:
            raise ValueError(f"high <= low ({low}, {high})")
        # the modulo bias is below 2**-40 for any span a paragraph can have
        return int(low) + self.next_u64() % span

    def random(self) -> float:
        """Uniform float in ``[0, 1)`` with 53 random bits."""
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))

    def geometric(self, p: float) -> int:
        """Number of trials up to the first success (support 1, 2, ...), like numpy."""
        if p >= 1.0:
            return 1
        u = self.random()
        return 1 + int(math.log1p(-u) / math.log1p(-p))
