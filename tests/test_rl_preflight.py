"""Validation before anything heavy: a bad corpus, reward, algorithm, device or model reference
fails before the model loads, in one line; user code imports from the current folder or a file
path without PYTHONPATH. Run: pytest tests/test_rl_preflight.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pretrainzero.corpus import register_corpus
from pretrainzero.errors import UserError
from pretrainzero.rl.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
ALGO = """
import torch

class {name}:
    aggregation = "token"

    def advantages(self, rewards, group_ids):
        return rewards - rewards.mean()

    def loss(self, {loss_args}):
        return -(new_logp * adv[:, None] * mask).sum() / mask.sum().clamp(min=1)
"""


@pytest.fixture()
def no_model_load(monkeypatch):
    """The trainer's model loader fails the test if reached: every check must come first."""
    import pretrainzero.rl.trainer as trainer

    def boom(*a, **k):
        raise AssertionError("the model was loaded before the input was checked")

    monkeypatch.setattr(trainer, "load_model", boom)
    register_corpus(
        "rl-preflight-test", source=("One paragraph about the river Seine in Paris.",), min_chars=1
    )


def _train(tmp_path, *overrides):
    from pretrainzero.rl.trainer import train

    r = load_recipe(
        ROOT / "agents" / "tiny-test.yaml", ["model=Qwen/Qwen3-0.6B", "corpus=rl-preflight-test", *overrides]
    )
    return train(r, tmp_path / "run", progress=False, log=lambda s: None)


@pytest.mark.parametrize(
    "overrides, match",
    [
        (["corpus=wiki-vital-enn"], r"unknown corpus 'wiki-vital-enn'; did you mean 'wiki-vital-en'"),
        (
            ["predictor_reward=no_such_module_xyz:factory"],
            r"cannot import predictor_reward 'no_such_module_xyz:factory'",
        ),
        (["predictor_reward=user_algo_example:nothing_here"], r"predictor_reward .*has no 'nothing_here'"),
        (["model=./no/such/model"], r"model './no/such/model': no such folder"),
        (
            ["random_masker_kwargs={bogus: 1}"],
            r"random_masker_kwargs: bad arguments for masker 'random-span'",
        ),
    ],
)
def test_bad_inputs_fail_before_the_model_loads(no_model_load, tmp_path, overrides, match):
    with pytest.raises(ValueError, match=match):
        _train(tmp_path, *overrides)
    assert not (tmp_path / "run").exists()  # nor was the run folder created


def test_cuda_without_cuda_fails_before_the_model_loads(no_model_load, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(
        UserError, match="device: cuda, but this torch build .* sees no CUDA device: set device: cpu"
    ):
        _train(tmp_path, "device=cuda")


def test_hf_id_offline_and_not_cached_fails(no_model_load, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    with pytest.raises(
        UserError, match="not a local folder and not in the HF cache, and HF_HUB_OFFLINE is set"
    ):
        _train(tmp_path, "model=someone/not-cached-model")


def test_negative_seed_and_bad_algorithm_signatures_fail_at_recipe_load(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"seed must be in \[0, "):
        load_recipe(ROOT / "agents" / "tiny-test.yaml", ["seed=-3"])
    (tmp_path / "badsig_algo.py").write_text(ALGO.format(name="Bad", loss_args="new_logp, adv"))
    with pytest.raises(
        UserError,
        match=r"algorithm 'badsig_algo:Bad': loss\(self, new_logp, adv\) cannot be called "
        r"as loss\(self, new_logp, old_logp, adv, mask\)",
    ):
        load_recipe(ROOT / "agents" / "tiny-test.yaml", ["algorithm=badsig_algo:Bad"])
    (tmp_path / "noloss_algo.py").write_text(
        "class NoLoss:\n    def advantages(self, rewards, group_ids): ...\n"
    )
    with pytest.raises(UserError, match=r"has no loss\(\) method; it needs loss\(self, new_logp"):
        load_recipe(ROOT / "agents" / "tiny-test.yaml", ["algorithm=noloss_algo:NoLoss"])


def test_user_code_imports_from_the_current_folder_or_a_file_path(tmp_path, monkeypatch):
    import sys

    from pretrainzero.rl.algorithms import get_algorithm

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    (tmp_path / "cwd_algo_mod.py").write_text(
        ALGO.format(name="Good", loss_args="new_logp, old_logp, adv, mask")
    )
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "file_algo.py").write_text(
        ALGO.format(name="Good2", loss_args="new_logp, old, adv, mask")
    )
    assert type(get_algorithm("cwd_algo_mod:Good")).__name__ == "Good"
    assert type(get_algorithm("plugins/file_algo.py:Good2")).__name__ == "Good2"
    r = load_recipe(ROOT / "agents" / "tiny-test.yaml", ["algorithm=plugins/file_algo.py:Good2"])
    assert r.algorithm == "plugins/file_algo.py:Good2"
    with pytest.raises(UserError, match=r"algorithm 'plugins/missing.py:X': no file plugins/missing.py"):
        get_algorithm("plugins/missing.py:X")
