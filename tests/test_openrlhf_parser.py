"""The launcher's flags through OpenRLHF 0.11.2's REAL parser and post-parse checks.

``openrlhf.cli.train_ppo_ray`` keeps its parser and checks under ``if __name__ == "__main__"`` and
then calls ``train(args)``. The module is run as ``__main__`` with only what needs a GPU stubbed
(ray, the vLLM/actor modules it imports); ``get_strategy``, the first call inside ``train``,
hands the fully checked namespace back.
"""

from __future__ import annotations

import json
import runpy
import sys
import types
from pathlib import Path

import pytest
import yaml

pytest.importorskip("openrlhf.utils.agent", reason="needs `pip install --no-deps openrlhf==0.11.2` (make test does)")

from pretrainzero.openrlhf.launch import plan, plugin_path
from pretrainzero.openrlhf.train_ppo_ray import check_args, check_recipe
from pretrainzero.rl.recipe import load_recipe

AGENTS = Path(__file__).resolve().parents[1] / "agents"
RECIPES = sorted(p.stem for p in AGENTS.glob("*.yaml") if "openrlhf" in (yaml.safe_load(p.read_text()) or {}))


class _Parsed(Exception):
    def __init__(self, args):
        self.parsed = args


@pytest.fixture
def openrlhf_parse(monkeypatch):
    """``parse(flags) -> namespace`` through the real parser and checks; argparse errors raise SystemExit."""
    import openrlhf.trainer  # the real package; only its GPU-bound submodules are stubbed
    import openrlhf.utils

    def stub(name, **attrs):
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, module)

    stub("ray", is_initialized=lambda: True, init=lambda **_: None)
    stub("ray.util")
    stub("ray.util.placement_group", placement_group=None)
    stub("openrlhf.trainer.ray", __path__=[], create_vllm_engines=None, batch_vllm_engine_call=None)
    stub("openrlhf.trainer.ray.launcher", RayActorGroup=None, ReferenceModelActor=None, RewardModelActor=None)
    stub("openrlhf.trainer.ray.ppo_actor", PolicyModelActor=None)
    stub("openrlhf.trainer.ray.ppo_critic", CriticModelActor=None)

    def get_strategy(args):
        raise _Parsed(args)

    monkeypatch.setattr(openrlhf.utils, "get_strategy", get_strategy)

    def parse(flags):
        monkeypatch.setattr(sys, "argv", ["train_ppo_ray", *flags])
        with pytest.raises(_Parsed) as got:
            runpy.run_module("openrlhf.cli.train_ppo_ray", run_name="__main__")
        return got.value.parsed

    return parse


def _plan(name, tmp_path, overrides=()):
    return plan(load_recipe(AGENTS / f"{name}.yaml", overrides), AGENTS / f"{name}.yaml", out=tmp_path)


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_passes_the_real_parser(name, tmp_path, openrlhf_parse):
    recipe = load_recipe(AGENTS / f"{name}.yaml")
    launch = _plan(name, tmp_path)
    args = openrlhf_parse(launch.flags)
    layout = launch.layout
    assert args.rollout.n_samples_per_prompt == recipe.g_pred == layout.n
    assert args.train.batch_size == layout.size == args.rollout.batch_size * args.rollout.n_samples_per_prompt
    assert args.actor.adam.lr == recipe.lr
    assert args.algo.kl.init_coef == 0 and not args.algo.kl.use_loss
    assert args.train.max_epochs == 1 and not args.train.async_enable
    assert args.rollout.temperature == recipe.temperature and args.rollout.top_p == recipe.top_p
    assert list(args.actor.eps_clip_low_high) == [0.2, 0.28]
    assert args.actor.loss_agg_mode == "token-mean"
    # post-parse consequences: an agent plug-in replaces reward models, no critic, no reference model
    assert args.reward.remote_url == ["agent"] and args.critic.model_name_or_path is None
    dp = args.actor.num_nodes * args.actor.num_gpus_per_node // args.ds.ring_attn_size
    assert args.train.batch_size % (dp * args.train.micro_batch_size) == 0
    assert args.train.batch_size % (dp * args.rollout.micro_batch_size) == 0
    assert args.rollout.vllm_generate_batch_size == args.rollout.batch_size
    if args.train.colocate_all:
        assert args.vllm.num_engines * args.vllm.tensor_parallel_size == dp * args.ds.ring_attn_size
        assert args.vllm.enable_sleep and args.ds.enable_sleep
    assert args.data.max_len == recipe.max_prompt_tokens + max(recipe.max_response_tokens, recipe.mask_max_tokens)
    # and the entry module's own checks (run on the GPU machine right after parsing) accept it silently
    check_recipe(recipe)
    assert check_args(args, recipe) == []


def test_paper_recipe_parsed_values(tmp_path, openrlhf_parse):
    args = openrlhf_parse(_plan("paper-qwen3-4b", tmp_path).flags)
    assert (args.rollout.n_samples_per_prompt, args.rollout.batch_size, args.train.batch_size) == (8, 288, 2304)
    assert (args.train.micro_batch_size, args.rollout.micro_batch_size) == (4, 8)
    assert args.actor.adam.lr == 5e-7 and args.actor.lr_scheduler == "cosine_with_min_lr"
    assert args.actor.min_lr_ratio == 0.0 and args.actor.lr_warmup_ratio == 0.00975
    assert list(args.actor.adam.betas) == [0.9, 0.999] and args.actor.adam.weight_decay == 0.01
    assert args.algo.advantage.estimator == "group_norm"
    assert (args.ds.zero_stage, args.ds.param_dtype, args.ds.packing_samples) == (3, "bf16", True)
    assert args.actor.gradient_checkpointing_enable and args.ckpt.save_hf and args.ckpt.save_steps == 100


def test_resume_and_stock_path_parse(tmp_path, openrlhf_parse):
    launch = plan(load_recipe(AGENTS / "paper-qwen3-4b.yaml", [f"openrlhf.agent_func_path={plugin_path('stock')}"]),
                  AGENTS / "paper-qwen3-4b.yaml", out=tmp_path, resume=True)
    assert openrlhf_parse(launch.flags).ckpt.load_enable
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": "p", "label": "{}"}) + "\n" for _ in range(64)))
    stock = plan(load_recipe(AGENTS / "openrlhf-smoke-1gpu.yaml",
                             ["openrlhf.agent=stock", f"openrlhf.prompt_dataset={prompts}", "filter_groups=true"]),
                 AGENTS / "openrlhf-smoke-1gpu.yaml", out=tmp_path)
    args = openrlhf_parse(stock.flags)
    assert args.algo.dynamic_filtering_enable and list(args.algo.dynamic_filtering_range) == [0.0, 1.0]
    assert args.data.prompt_dataset == str(prompts) and args.data.label_key == "label"
    assert args.train.agent_func_path == str(plugin_path("stock"))


@pytest.mark.parametrize("flag", [["--init_kl_coef", "0"], ["--env_file", "x.py"], ["--n_samples_per_prompt", "8"]])
def test_old_flag_names_are_rejected_by_the_real_parser(flag, openrlhf_parse, capsys):
    with pytest.raises(SystemExit):
        openrlhf_parse(["--actor.num_gpus_per_node", "1", *flag])
    assert "unrecognized arguments" in capsys.readouterr().err


def test_the_real_checks_catch_what_the_fixed_batch_size_avoids(openrlhf_parse):
    # fewer rollout micro batches than policy ranks: the post-parse assertion fires
    with pytest.raises(AssertionError, match="number of sample batches"):
        openrlhf_parse(["--actor.num_gpus_per_node", "8", "--rollout.batch_size", "1",
                        "--rollout.micro_batch_size", "1",
                        "--train.agent_func_path", "a.py", "--algo.advantage.estimator", "group_norm",
                        "--rollout.n_samples_per_prompt", "4"])
