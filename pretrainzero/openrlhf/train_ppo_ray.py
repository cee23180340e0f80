r"""``python -m pretrainzero.openrlhf.train_ppo_ray <OpenRLHF 0.11.2 dotted flags>``.

OpenRLHF's own command line (``openrlhf.cli.train_ppo_ray``: its parser, its post-parse checks and
its ``train()``) with the PretrainZero trainer in place of ``PPOTrainer``. The recipe, which holds
the game (P, G_gen, G_pred, prompts, corpus, algorithm...), is the YAML file named by the
environment variable ``PRETRAINZERO_RECIPE``; ``pretrainzero train --backend openrlhf`` writes
the flags from the same recipe. Two bindings are made before OpenRLHF's module runs, without
forking it:

* ``train()`` imports ``PPOTrainer`` from ``openrlhf.trainer.ppo_trainer`` when it is called; that
  name is bound to an object whose ``.remote(...)`` starts :class:`.trainer.PretrainZeroTrainer`
  as a Ray actor (a Ray actor class cannot be subclassed, so ours subclasses ``BasePPOTrainer``
  and is decorated here), pinned to this node (it reads the corpus) and handed the recipe.
* the flags are checked against the recipe right after parsing, before Ray starts and before any
  vLLM engine or model exists (:func:`check_args`); an inconsistency is refused in one line.
* the vLLM engines are created with ``logprobs_mode="processed_logprobs"`` (OpenRLHF asks for it
  only with its importance-sampling correction): the rollout log-probs are then those of the
  temperature-scaled distribution, as the engine contract says and as the trainer recomputes them,
  so ``pz/logprob_gap`` compares like with like at any temperature.

Exit status: 0 done, 2 refused (the reason is printed as ``error: ...``).
"""

from __future__ import annotations

import math
import os
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..rl.recipe import Recipe, load_recipe
from .batch import fixed_batch_size, raw_step_samples

RECIPE_ENV = "PRETRAINZERO_RECIPE"
AGENT_PLUGIN = Path(__file__).resolve().with_name("agent_plugin.py")
# Algorithms whose loss OpenRLHF's PolicyLoss reproduces exactly (clip eps + aggregation flags).
EXACT_LOSS = {"dapo", "grpo", "reinforce_pp"}


class FlagError(ValueError):
    """A flag that contradicts the recipe or that this backend cannot honour."""


def check_recipe(recipe: Recipe) -> None:
    """Recipe settings the OpenRLHF backend cannot run (before anything starts)."""
    if recipe.sft is not None:
        raise FlagError("the recipe has an sft: section; run the supervised cold start with the embedded trainer "
                        "first (`pretrainzero train --recipe ... --set steps=0`) and set model: to its checkpoint")
    if recipe.predictor_reward == "likelihood":
        raise FlagError("predictor_reward: likelihood needs the policy model in the controller; the OpenRLHF backend "
                        "supports exact match or a module:factory reward")


def check_args(args: Any, recipe: Recipe) -> list[str]:
    """Refuse flags that contradict the recipe or the two-role step; return warnings for ignored ones.

    ``args`` is OpenRLHF's parsed, hierarchised namespace (``args.actor.adam.lr``...).
    """
    from ..rl.algorithms import recipe_algorithm

    def refuse(msg: str) -> None:
        raise FlagError(msg)

    agent = args.train.agent_func_path
    if not agent or not Path(agent).is_file() or Path(agent).read_bytes() != AGENT_PLUGIN.read_bytes():
        refuse(f"--train.agent_func_path must be this package's plug-in (or an identical copy): "
               f"--train.agent_func_path {AGENT_PLUGIN}")
    if args.algo.kl.init_coef != 0 or args.algo.kl.use_loss:
        refuse("PretrainZero trains without KL: pass --algo.kl.init_coef 0 and no --algo.kl.use_loss")
    if args.algo.advantage.estimator == "gae":
        refuse("--algo.advantage.estimator gae needs a critic; the step computes its own advantages: pass group_norm")
    if args.train.max_epochs != 1:
        refuse(f"--train.max_epochs {args.train.max_epochs}: one update per rollout step (pass 1)")
    if args.train.async_enable:
        refuse("--train.async_enable: the two-role step is synchronous (predictions need this step's masks)")
    if args.algo.dynamic_filtering_enable:
        refuse("--algo.dynamic_filtering_enable: the step filters equal-reward groups itself (filter_groups: in the "
               "recipe)")
    if not args.vllm.num_engines or args.vllm.num_engines < 1:
        refuse("the step samples with vLLM: pass --vllm.num_engines >= 1")
    if args.reward.overlong_buffer_len is not None or args.reward.stop_properly_penalty_coef is not None:
        refuse("length penalties (--reward.overlong_buffer_len, --reward.stop_properly_penalty_coef) are not applied "
               "by the PretrainZero step; remove them")
    for flag, ours, theirs in (("temperature", recipe.temperature, args.rollout.temperature),
                               ("top_p", recipe.top_p, args.rollout.top_p)):
        if not math.isclose(ours, theirs):
            refuse(f"--rollout.{flag} {theirs} differs from the recipe's {flag}: {ours} (the trainer's log-probs must "
                   "describe the sampling distribution)")
    need = recipe.max_prompt_tokens + max(recipe.max_response_tokens, recipe.mask_max_tokens)
    if args.data.max_len < need:
        refuse(f"--data.max_len {args.data.max_len} cannot hold a prompt plus a response of this recipe "
               f"({recipe.max_prompt_tokens} + {max(recipe.max_response_tokens, recipe.mask_max_tokens)}); "
               f"pass --data.max_len {need}")

    # the fixed step size S (pretrainzero.openrlhf.batch)
    dp = args.actor.num_nodes * args.actor.num_gpus_per_node // (args.ds.ring_attn_size * args.ds.tensor_parallel_size)
    size, n = args.train.batch_size, args.rollout.n_samples_per_prompt
    tm, rm = args.train.micro_batch_size, args.rollout.micro_batch_size
    s_raw = raw_step_samples(recipe)
    good = fixed_batch_size(s_raw, n, dp, tm, rm)
    if size < s_raw or size % (dp * tm) or size % (dp * rm) or args.rollout.batch_size * n != size:
        refuse(f"--train.batch_size {size} does not fit this recipe: a step makes up to {s_raw} samples and S must "
               f"divide into {dp} ranks x micro-batches of {tm} (train) and {rm} (rollout); pass --train.batch_size "
               f"{good} --rollout.batch_size {good // n} (with --rollout.n_samples_per_prompt {n})")

    # the loss OpenRLHF trains with must be the algorithm's
    algo = recipe_algorithm(recipe)
    if args.actor.policy_loss_type != "ppo" or args.actor.dual_clip is not None:
        refuse("--actor.policy_loss_type gspo / --actor.dual_clip change the loss; the recipe's algorithm is "
               f"{recipe.algorithm}")
    eps = tuple(args.actor.eps_clip_low_high or (args.actor.eps_clip, args.actor.eps_clip))
    if hasattr(algo, "eps_low") and hasattr(algo, "eps_high"):
        want = (algo.eps_low, algo.eps_high)
        if not all(math.isclose(a, b) for a, b in zip(eps, want, strict=True)):
            refuse(f"--actor.eps_clip_low_high {eps[0]} {eps[1]} differs from {recipe.algorithm}'s clip range; pass "
                   f"--actor.eps_clip_low_high {want[0]} {want[1]}")
    mode = "token-mean" if getattr(algo, "aggregation", "sequence") == "token" else "seq-mean-token-mean"
    if args.actor.loss_agg_mode != mode:
        refuse(f"--actor.loss_agg_mode {args.actor.loss_agg_mode} differs from {recipe.algorithm}'s aggregation; "
               f"pass --actor.loss_agg_mode {mode}")
    warnings = []
    if recipe.algorithm not in EXACT_LOSS:
        warnings.append(f"{recipe.algorithm}: OpenRLHF trains with its PPO-clip loss on this algorithm's advantages; "
                        "the loss equals the embedded trainer's only for dapo, grpo and reinforce_pp")
    for flag, value, default in (("--data.prompt_dataset", args.data.prompt_dataset, None),
                                 ("--eval.dataset", args.eval.dataset, None),
                                 ("--train.num_episodes", args.train.num_episodes, 1)):
        if value != default:
            warnings.append(f"{flag} is ignored: paragraphs come from the recipe's corpus, steps from its steps:")
    return warnings


def bind(recipe: Recipe, log: Any = print) -> None:
    """Make OpenRLHF's ``train()`` build our trainer, and check the flags right after parsing."""
    import inspect

    import openrlhf.trainer.ppo_trainer as ppo_trainer
    import openrlhf.trainer.ray as trainer_ray
    import openrlhf.utils.config as config
    import ray
    from openrlhf.trainer.ray.vllm_engine import create_vllm_engines as stock_create

    from .trainer import PretrainZeroTrainer

    actor_class = ray.remote(PretrainZeroTrainer)

    class PretrainZeroTrainerBinder:
        """What ``train()`` calls as ``PPOTrainer.remote(pretrain, strategy, groups..., engines, **gen)``."""

        @staticmethod
        def remote(*args: Any, **kwargs: Any) -> Any:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
            return actor_class.options(scheduling_strategy=here).remote(*args, pz_recipe=recipe, **kwargs)

    parse = config.hierarchize

    def hierarchize_and_check(flat: Any) -> Any:
        args = parse(flat)
        for w in check_args(args, recipe):
            log(f"warning: {w}")
        return args

    create = trainer_ray.create_vllm_engines

    def create_vllm_engines(*args: Any, **kwargs: Any) -> Any:
        bound = inspect.signature(stock_create).bind(*args, **kwargs)
        bound.arguments["logprobs_mode"] = "processed_logprobs"
        return create(**bound.arguments)

    ppo_trainer.PPOTrainer = PretrainZeroTrainerBinder
    config.hierarchize = hierarchize_and_check
    trainer_ray.create_vllm_engines = create_vllm_engines


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    path = os.environ.get(RECIPE_ENV)
    if not path:
        print(f"error: set {RECIPE_ENV} to the recipe file (e.g. {RECIPE_ENV}=agents/paper-qwen3-4b.yaml)",
              file=sys.stderr)
        return 2
    try:
        recipe = load_recipe(path)
        check_recipe(recipe)
    except (OSError, ValueError) as exc:
        print(f"error: {RECIPE_ENV}={path}: {exc}", file=sys.stderr)
        return 2
    bind(recipe)
    saved = sys.argv
    sys.argv = ["openrlhf.cli.train_ppo_ray", *argv]
    try:
        runpy.run_module("openrlhf.cli.train_ppo_ray", run_name="__main__", alter_sys=True)
    except FlagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        sys.argv = saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
