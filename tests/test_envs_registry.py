"""Gymnasium's env checker over every registered ``pretrainzero/*`` id.

Built-in corpora read installed package data. Ids whose corpus streams from the Hugging Face
Hub (``wikipedia-en``) are checked with the same entry point and kwargs but a tiny local corpus,
so the suite stays offline.
"""

from __future__ import annotations

import warnings

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import pretrainzero  # noqa: F401  (registers the built-in corpora)
from pretrainzero.corpus import get_spec
from pretrainzero.envs import list_envs

LOCAL_TEXTS = [
    "The orchard on the hill grew apples, pears and plums, and each autumn the neighbours came "
    "with baskets to help pick the fruit before the first frost arrived.",
    "A tram line once ran along the harbour road, carrying dock workers to the shipyard at dawn "
    "and bringing them home again long after the sun had set over the bay.",
]


def hub_streamed(env_id: str) -> bool:
    spec = gymnasium.spec(env_id).kwargs["corpus"]  # the full CorpusSpec, so spawned workers need no registry
    assert spec == get_spec(spec.name)
    source = spec.source
    return isinstance(source, str) and source.startswith("hf:")


@pytest.mark.parametrize("env_id", list_envs())
def test_check_env(env_id):
    kwargs = {"corpus": LOCAL_TEXTS} if hub_streamed(env_id) else {}
    env = gymnasium.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker's warnings count as failures here
        check_env(env.unwrapped)
    obs, info = env.reset(seed=0)
    assert obs in env.observation_space and info["paragraph_id"]
    _, reward, terminated, truncated, _ = env.step("\\mask{} \\boxed{}")  # an empty mask/answer
    # every family ends here (ActiveMasking on the invalid mask); no TimeLimit marks it truncated
    assert (reward, terminated, truncated) == (0.0, True, False)
    env.close()


def test_registry_has_every_builtin_corpus_and_task():
    ids = set(list_envs())
    for corpus in ("wiki-vital-en", "wiki-vital-fr", "wiki-vital-es", "wikipedia-en"):
        for task in ("MaskedSpan", "NextToken", "MaskGeneration", "ActiveMasking"):
            assert f"pretrainzero/{corpus}-{task}-v1" in ids
