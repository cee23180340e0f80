r"""Reference agents for the envs: batched ``act(observations, infos) -> list[str]``.

* :class:`OracleAgent` answers from ``info`` (which carries the hidden span): ``\boxed{answer}``
  for a prediction turn and a valid ``\mask{span}`` for a mask turn. It checks that an env
  scores a correct answer 1.0 (and, for generators, that a valid mask is accepted).
* :class:`RandomAgent` writes one to three consecutive words of the observation in the same
  form: the floor a learner must beat, close to 0 on every predictor task.

``infos`` is a list of dicts, or the dict of arrays a Gymnasium vector env returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .masking import WORD_RE, RandomSpanMasker
from .parsing import last_mask
from .envs.rng import EpisodeRng

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
