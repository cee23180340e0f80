"""Env checks as small named functions (in the spirit of Gymnasium's ``env_checker``).

Each check takes an env (a ``pretrainzero`` env, wrapped or not) and returns a :class:`Check`:
its name, whether it passed and a one-line detail. What an env promises is read from the env
class, never from its id: ``rewards = "prediction"`` envs (``MaskedSpan``, ``NextToken``,
``ActiveMasking``) pay 1.0 for the hidden answer, so the oracle must average exactly 1.0;
``rewards = "mask"`` envs (``MaskGeneration``) pay a generator reward that depends on the
injected predictor, so there the oracle's masks must all be valid. Envs with mask turns must
accept every oracle mask. The random agent is the floor: its mean reward stays low.

    from pretrainzero.envs.checks import run_checks
    for check in run_checks(gymnasium.make("pretrainzero/wiki-vital-en-MaskedSpan-v0")):
        print(check.line())
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    """The outcome of one named check."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def _play(env: Any, agent: Any, episodes: int, seed: int) -> Any:
    from ..agents import play

    return play(env.unwrapped, agent, episodes, seed=seed)


def check_gymnasium_api(env: Any) -> Check:
    """Gymnasium's own ``check_env`` (spaces, seeding, reset/step signatures); advice is not failure."""
    from gymnasium.utils.env_checker import check_env

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_env(env.unwrapped, skip_render_check=True)
    except Exception as exc:  # noqa: BLE001  (every checker failure is reported the same way)
        return Check("gymnasium_api", False, f"{type(exc).__name__}: {exc}")
    return Check("gymnasium_api", True, "check_env passed")


def check_oracle_reward(env: Any, episodes: int = 200, seed: int = 0) -> Check:
    """Prediction envs: the oracle (who reads the hidden answer) averages exactly 1.0."""
    from ..agents import OracleAgent

    if getattr(env.unwrapped, "rewards", "prediction") != "prediction":
        return Check("oracle_reward", True, "not applicable (the reward depends on the injected predictor)")
    stats = _play(env, OracleAgent(), episodes, seed)
    ok = stats.mean_reward == 1.0
    return Check("oracle_reward", ok, f"mean reward {stats.mean_reward:.4f} over {episodes} episodes (expected 1.0)")


def check_oracle_masks(env: Any, episodes: int = 200, seed: int = 0) -> Check:
    """Envs with mask turns accept every oracle mask (the paper's validity rule)."""
    from ..agents import OracleAgent

    stats = _play(env, OracleAgent(), episodes, seed)
    if stats.mask_valid_rate is None:
        return Check("oracle_masks", True, "not applicable (no mask turns)")
    ok = stats.mask_valid_rate == 1.0
    return Check("oracle_masks", ok, f"valid-mask rate {stats.mask_valid_rate:.3f} (expected 1.0)")


def check_random_floor(env: Any, episodes: int = 200, seed: int = 0, max_reward: float = 0.1) -> Check:
    """The random agent (words copied from the observation) stays at or below ``max_reward``."""
    from ..agents import RandomAgent

    stats = _play(env, RandomAgent(seed=seed), episodes, seed + 1)
    ok = stats.mean_reward <= max_reward
    return Check("random_floor", ok, f"mean reward {stats.mean_reward:.4f} (at most {max_reward})")


def run_checks(env: Any, episodes: int = 200, seed: int = 0, random_max: float = 0.1) -> list[Check]:
    """Every check above, in order."""
    return [
        check_gymnasium_api(env),
        check_oracle_reward(env, episodes, seed),
        check_oracle_masks(env, episodes, seed),
        check_random_floor(env, episodes, seed, random_max),
    ]
