r"""verifiers 0.4 (v1) Taskset over any registered env, for evaluating OpenAI-compatible endpoints.

One task per env episode: the prompt is the episode's first observation; ``(env id, paragraph
id, seed)`` on the task data rebuild the episode. Predictor envs (``MaskedSpan``, ``NextToken``)
score the reply with the same pure reward as the env (exact match of the last ``\boxed{}``, or
the env's prefix/normalised option). Generator envs replay the episode and score the reply's
mask: ``MaskGeneration`` gives the env's generator reward (heuristic stand-in predictor unless
the env was built with one); ``ActiveMasking`` is single-turn here, so it scores only the mask
turn, 1.0 for a valid mask (the prediction turn needs a multi-turn ``vf.Env``).

Usage: ``pretrainzero_taskset("pretrainzero/wiki-vital-en-MaskedSpan-v1", num_tasks=50)``. The
module exports exactly one Taskset subclass, as verifiers' loader requires; ``vf-eval`` resolves
ids to top-level modules only (``find_spec("verifiers.v1.tasksets.<id>")`` fails on a dotted
id), so a CLI run needs a one-line top-level module re-exporting ``PretrainZeroTaskset``.
Needs ``verifiers==0.4.0``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import gymnasium
import verifiers.v1 as vf

from .envs.masked_span import MaskedSpanEnv
from .envs.registration import resolve_env_id
from .rewards import exact_match, extract_prediction, prefix_match

PREDICTOR_TASKS = ("MaskedSpan", "NextToken")


class EpisodeData(vf.TaskData):
    """One env episode as a verifiers task row."""

    env_id: str
    paragraph_id: str
    seed: int
    answer: str | None = None
    """The hidden span (predictor envs); None for generator envs."""


@functools.lru_cache(maxsize=16)
def _env(env_id: str) -> Any:
    """One unwrapped env per id, reused to replay episodes when scoring."""
    return gymnasium.make(env_id).unwrapped


def score_reply(data: EpisodeData, reply: str) -> float:
    """The env's reward for ``reply`` on the episode ``data`` describes."""
    env = _env(data.env_id)
    if isinstance(env, MaskedSpanEnv) and data.answer is not None:
        prediction = extract_prediction(reply, think=env.think)
        if env.prefix:
            return prefix_match(prediction, data.answer)
        return exact_match(prediction, data.answer, normalized=env.normalized)
    env.reset(options={"paragraph_id": data.paragraph_id, "seed": data.seed})
    _, reward, _, _, info = env.step(reply)
    return float(info["valid"]) if info.get("phase") == "mask" else float(reward)


class EpisodeTask(vf.Task[EpisodeData]):
    """Scores the model's last reply with the env's own reward."""

    @vf.reward(weight=1.0)
    async def env_reward(self, trace: vf.Trace) -> float:
        return score_reply(self.data, trace.last_reply)


class PretrainZeroTasksetConfig(vf.TasksetConfig):
    env_id: str = "pretrainzero/wiki-vital-en-MaskedSpan-v1"
    """Registered env id (see `pretrainzero list envs`)."""
    num_tasks: int = 100
    """Episodes to draw."""
    seed: int = 0
    """Episode i is `reset(seed=seed + i)`."""


class PretrainZeroTaskset(vf.Taskset[EpisodeTask, PretrainZeroTasksetConfig]):
    """Episodes of one pretrainzero env as verifiers tasks."""

    def load(self) -> Iterator[EpisodeTask]:
        env_id = resolve_env_id(self.config.env_id)
        env = gymnasium.make(env_id).unwrapped
        for i in range(self.config.num_tasks):
            obs, info = env.reset(seed=self.config.seed + i)
            data = EpisodeData(
                id=f"{info['paragraph_id']}@{info['seed']}",
                prompt=obs,
                env_id=env_id,
                paragraph_id=info["paragraph_id"],
                seed=info["seed"],
                answer=info.get("answer"),
            )
            yield EpisodeTask(data, self.config.task)


def pretrainzero_taskset(env_id: str, *, num_tasks: int = 100, seed: int = 0) -> PretrainZeroTaskset:
    """The Taskset of a registered env id."""
    return PretrainZeroTaskset(PretrainZeroTasksetConfig(env_id=env_id, num_tasks=num_tasks, seed=seed))


__all__ = [
    "EpisodeData",
    "EpisodeTask",
    "PretrainZeroTaskset",
    "PretrainZeroTasksetConfig",
    "pretrainzero_taskset",
]
