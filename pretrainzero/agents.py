r"""Reference agents for the envs: batched ``act(observations, infos) -> list[str]``.

* :class:`OracleAgent` answers from ``info`` (which carries the hidden span): ``\boxed{answer}``
  for a prediction turn and a valid ``\mask{span}`` for a mask turn. It checks that an env
  scores a correct answer 1.0 (and, for generators, that a valid mask is accepted).
* :class:`RandomAgent` writes one to three consecutive words of the observation in the same
  form: the floor a learner must beat, close to 0 on every predictor task.

``infos`` is a list of dicts, or the dict of arrays a Gymnasium vector env returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .envs.rng import EpisodeRng
from .masking import WORD_RE, RandomSpanMasker
from .parsing import last_mask

_ORACLE_MASKER = RandomSpanMasker(min_words=1, max_words=3, rule="words", max_tries=32)


def is_mask_turn(info: Mapping[str, Any]) -> bool:
    """Whether the next action is a mask proposal (generator turn)."""
    return info.get("next_role", info.get("role")) == "generator"


def split_infos(infos: Sequence[Mapping[str, Any]] | Mapping[str, Any], n: int) -> list[dict[str, Any]]:
    """Per-env info dicts from a list, or from a vector env's dict of arrays with ``_key`` masks."""
    if not isinstance(infos, Mapping):
        return [dict(i) for i in infos]

    def pick(d: Mapping[str, Any], i: int) -> dict[str, Any]:
        out = {}
        for key, value in d.items():
            if key.startswith("_"):
                continue
            present = d.get("_" + key)
            if present is not None and not present[i]:
                continue
            out[key] = pick(value, i) if isinstance(value, Mapping) else value[i]
        return out

    return [pick(infos, i) for i in range(n)]


class OracleAgent:
    """Answers from the env's info; proposes whole-word spans that pass every mask rule."""

    def act(self, observations: Sequence[str], infos: Any) -> list[str]:
        return [self._one(info) for info in split_infos(infos, len(observations))]

    def _one(self, info: Mapping[str, Any]) -> str:
        needed = "paragraph" if is_mask_turn(info) else "answer"
        if needed not in info:  # a finished episode: a vector env's autoreset step ignores the action
            return ""
        if is_mask_turn(info):
            rng = EpisodeRng(int(info.get("seed", 0)) ^ 0x5EED)
            for _ in range(8):  # skip spans that \mask{} cannot carry (unbalanced braces)
                example = _ORACLE_MASKER(str(info["paragraph"]), rng)
                if example is not None and last_mask(f"\\mask{{{example.answer}}}") == example.answer:
                    return f"\\mask{{{example.answer}}}"
            return ""
        return f"\\boxed{{{info['answer']}}}"


class RandomAgent:
    """One to three consecutive words of the observation, boxed or masked as the turn needs."""

    def __init__(self, seed: int | None = 0):
        self.rng = np.random.default_rng(seed)

    def act(self, observations: Sequence[str], infos: Any) -> list[str]:
        out = []
        for obs, info in zip(observations, split_infos(infos, len(observations)), strict=True):
            words = WORD_RE.findall(obs)
            if not words:
                out.append("")
                continue
            n = int(self.rng.integers(1, 4))
            i = int(self.rng.integers(0, max(1, len(words) - n + 1)))
            guess = " ".join(words[i : i + n])
            out.append(f"\\mask{{{guess}}}" if is_mask_turn(info) else f"\\boxed{{{guess}}}")
        return out


AGENTS = {"oracle": OracleAgent, "random": RandomAgent}


@dataclass(frozen=True)
class PlayStats:
    """Summary of :func:`play`."""

    episodes: int
    mean_reward: float
    seconds: float
    mask_valid_rate: float | None  # share of mask turns with a valid mask; None without mask turns

    @property
    def episodes_per_s(self) -> float:
        return self.episodes / self.seconds if self.seconds > 0 else float("inf")


def play(
    env: Any, agent: Any, episodes: int, *, seed: int = 0, progress: Callable[[int], object] | None = None
) -> PlayStats:
    """Run ``episodes`` full episodes of ``env`` with ``agent`` (one env, batch of one).

    ``reset(seed=seed)`` starts a reproducible stream; ``progress(k)`` is called every 100 episodes.
    """
    total, masks, valid = 0.0, 0, 0
    start = time.perf_counter()
    for i in range(episodes):
        obs, info = env.reset(seed=seed if i == 0 else None)
        done = False
        while not done:
            action = agent.act([obs], [info])[0]
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            done = terminated or truncated
            if "valid" in info and info.get("role") == "generator":
                masks += 1
                valid += bool(info["valid"])
        if progress is not None and (i + 1) % 100 == 0:
            progress(100)
    if progress is not None and episodes % 100:
        progress(episodes % 100)
    seconds = time.perf_counter() - start
    return PlayStats(episodes, total / max(episodes, 1), seconds, valid / masks if masks else None)
