"""The env checks (pretrainzero.envs.checks) over the whole registry, and their sensitivity."""

from __future__ import annotations

import gymnasium
import pytest

import pretrainzero  # noqa: F401  (registers the built-in corpora)
from pretrainzero.cli import main
from pretrainzero.corpus import list_corpora
from pretrainzero.envs import MaskedSpanEnv
from pretrainzero.envs.checks import check_oracle_masks, check_oracle_reward, run_checks
from pretrainzero.envs.registration import env_id

TEXTS = [
    "The orchard on the hill grew apples, pears and plums, and each autumn the neighbours came "
    "with baskets to help pick the fruit before the first frost arrived.",
    "A tram line once ran along the harbour road, carrying dock workers to the shipyard at dawn "
    "and bringing them home again long after the sun had set over the bay.",
]


def offline_env_ids() -> list[str]:
    """Every registered env of every corpus that reads no network (Hub-streamed ones excluded)."""
    return [
        env_id(spec.name, task, spec.version)
        for spec in list_corpora()
        if not (spec.kind == "hf" and not str(spec.source)[3:].startswith("/"))
        for task in spec.tasks
    ]


@pytest.mark.parametrize("env", offline_env_ids())
def test_oracle_scores_one_and_masks_are_valid_on_every_registered_env(env):
    made = gymnasium.make(env)
    reward, masks = check_oracle_reward(made, episodes=25), check_oracle_masks(made, episodes=25)
    assert reward.ok, reward.line()
    assert masks.ok, masks.line()
    kind = made.unwrapped.rewards
    assert ("not applicable" in reward.detail) == (kind == "mask")  # generator envs: masks, not reward
    assert ("not applicable" in masks.detail) == (type(made.unwrapped).__name__ in ("MaskedSpanEnv", "NextTokenEnv"))


class HalfCreditEnv(MaskedSpanEnv):
    """A broken prediction env: the right answer earns 0.5."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward / 2, terminated, truncated, info


def test_checks_catch_a_broken_env_and_read_the_kind_from_the_class(capsys):
    failed = {c.name for c in run_checks(HalfCreditEnv(TEXTS), episodes=10) if not c.ok}
    assert failed == {"oracle_reward"}
    # an id outside our naming scheme: what is checked follows the class, not a substring of the id
    gymnasium.register("pztest/Gen-v0", entry_point="pretrainzero.envs:MaskGenerationEnv", kwargs={"corpus": TEXTS})
    try:
        assert main(["check", "pztest/Gen-v0", "-n", "20"]) == 0
        out = capsys.readouterr().out
        assert "ok    oracle_masks: valid-mask rate 1.000" in out and "oracle_reward: not applicable" in out
    finally:
        del gymnasium.registry["pztest/Gen-v0"]
