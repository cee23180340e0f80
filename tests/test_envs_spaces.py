"""``AnyText`` and the per-episode generator."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from pretrainzero.envs import AnyText
from pretrainzero.envs.rng import EpisodeRng


def test_any_text_holds_any_unicode_up_to_its_length():
    space = AnyText(12)
    assert "" in space and "Ça — 中文 🙂{}" in space and "\n\t\x00" in space
    assert "x" * 13 not in space and b"bytes" not in space and 5 not in space
    assert space == AnyText(12) and space != AnyText(13) and not space.is_np_flattenable
    assert isinstance(space, gymnasium.spaces.Space)


def test_any_text_samples_are_seeded_varied_garbage():
    a, b = AnyText(1 << 20, seed=3), AnyText(1 << 20, seed=3)
    samples = [a.sample() for _ in range(200)]
    assert samples == [b.sample() for _ in range(200)]
    joined = "".join(samples)
    assert "{" in joined and "}" in joined and "\\boxed{" in joined and any(ord(c) > 127 for c in joined)
    assert len(set(samples)) > 150 and min(map(len, samples)) <= 2 and max(map(len, samples)) > 40
    assert all(s in a for s in samples)
    with pytest.raises(NotImplementedError):
        a.sample(mask=1)


def test_episode_rng_is_deterministic_and_numpy_shaped():
    r1, r2 = EpisodeRng(42), EpisodeRng(42)
    draws = [r1.integers(3, 9) for _ in range(5000)]
    assert draws == [r2.integers(3, 9) for _ in range(5000)]
    counts = np.bincount(draws, minlength=9)[3:]
    assert counts.min() > 700 and set(draws) == set(range(3, 9))  # roughly uniform on [3, 9)
    assert all(0 <= EpisodeRng(i).integers(7) < 7 for i in range(100))
    geo = [EpisodeRng(i).geometric(0.2) for i in range(4000)]
    assert min(geo) == 1 and 4.5 < np.mean(geo) < 5.5  # mean 1/p
    assert [EpisodeRng(1).next_u64() for _ in range(3)] != [EpisodeRng(2).next_u64() for _ in range(3)]
    with pytest.raises(ValueError):
        EpisodeRng(0).integers(5, 5)
