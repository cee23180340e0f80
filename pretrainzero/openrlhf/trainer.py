r"""The PretrainZero trainer on OpenRLHF 0.11.2's machinery (the controller of a Ray job).

What one training step does, in plain words:

1. Take the next P training paragraphs (:class:`~pretrainzero.rl.data.ParagraphStream`; the stream
   cursor is saved in OpenRLHF's checkpoint, so a resumed run continues where it stopped).
2. Wake the vLLM engines and play one round of the game, exactly the step the embedded trainer
   runs (:func:`~pretrainzero.rl.step.pretrainzero_step`): G_gen masks per paragraph, validation,
   G_pred predictions per valid mask, rewards, groups, the DAPO all-equal-rewards filter. Sampling
   goes through OpenRLHF's ``RolloutRayActor.generate_responses`` (:mod:`.rollout`), token ids in
   and out. The engines sleep again (colocated runs free the GPU for training).
3. If every group was filtered there is nothing to learn from: the step is logged and skipped (no
   update, no weight sync). Otherwise the samples of both roles are padded to the fixed step size
   S with ghost samples that carry no loss (:mod:`.layout`).
4. OpenRLHF's ``BasePPOTrainer.train_step``: the DeepSpeed actor computes the old log-probs, our
   experience maker computes advantages with the recipe's algorithm on explicit group ids (the only
   override), every data-parallel rank trains on its S/dp slots in one optimizer step with
   OpenRLHF's ``PolicyLoss`` (equal to the algorithm's loss for dapo, grpo and reinforce_pp), and
   the new weights are broadcast to the vLLM engines.
5. Log OpenRLHF's metrics plus ``pz/*`` (the step's statistics, per-role sample counts, padding
   fraction, and the mean |training - vLLM| log-prob gap on real tokens) to OpenRLHF's loggers and
   to ``metrics.jsonl`` in ``--ckpt.path`` (one JSON row per step; a resumed run drops the rows
   after its checkpoint, which it redoes); checkpoint every ``--ckpt.save_steps`` with OpenRLHF's
   own checkpointing.

There is no KL term, no reference model, no critic and no reward model. A skipped step does not
advance the learning-rate schedule (OpenRLHF steps it with the optimizer).
"""

from __future__ import annotations

import importlib
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from openrlhf.trainer.ppo_trainer import BasePPOTrainer
from openrlhf.trainer.ray.vllm_engine import batch_vllm_engine_call
from openrlhf.utils.logging_utils import init_logger
from openrlhf.utils.utils import get_tokenizer

from ..engines import eos_token_ids
from ..rl.algorithms import recipe_algorithm
from ..rl.data import ParagraphStream
from ..rl.metrics import MetricsLog
from ..rl.recipe import Recipe
from ..rl.step import PredictorRewardFn, StepConfig, build_masker, pretrainzero_step
from .experience import PretrainZeroExperienceMaker
from .layout import GHOST, fixed_size_experiences, role_counts, slot_labels
from .rollout import OpenRLHFEngine

logger = init_logger(__name__)


def _metrics_log(path: Path, resumed_at: int) -> MetricsLog:
    """``metrics.jsonl`` for appending; a resumed run keeps the rows up to its checkpoint's step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not resumed_at or not path.is_file():
        return MetricsLog(path)
    keep = 0
    with open(path, "rb") as f:
        for line in f:
            try:
                if json.loads(line).get("global_step", math.inf) > resumed_at:
                    break
            except json.JSONDecodeError:  # a torn last line from a killed run
                break
            keep += len(line)
    return MetricsLog(path, truncate_to=keep)


def _generation_config(model: str) -> Any:
    """The model's generation config (its EOS ids are part of the engine contract's EOS set), or None."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model)
    except (OSError, ValueError):
        return None


def _predictor_reward_fn(recipe: Recipe, tokenizer: Any) -> PredictorRewardFn | None:
    """The recipe's predictor training reward; ``module:factory`` gets ``model=None`` (no model here)."""
    if recipe.predictor_reward == "exact":
        return None
    if recipe.predictor_reward == "likelihood":
        raise ValueError("predictor_reward: likelihood needs the policy in the controller; the OpenRLHF backend "
                         "does not support it (use the embedded trainer)")
    module, _, attr = recipe.predictor_reward.partition(":")
    return getattr(importlib.import_module(module), attr)(None, tokenizer, **recipe.predictor_reward_kwargs)


class PretrainZeroTrainer(BasePPOTrainer):
    """``BasePPOTrainer`` whose rollouts are PretrainZero steps (see the module docstring).

    Built by OpenRLHF's ``train()`` exactly like its ``PPOTrainer`` (the entry module binds it, as
    a Ray actor), plus ``pz_recipe``: the game's settings (P, G_gen, G_pred, prompts, corpus...).
    """

    def __init__(
        self,
        pretrain: str,
        strategy: Any,
        actor_model_group: Any,
        critic_model_group: Any,
        reward_model_group: Any,
        reference_model_group: Any,
        vllm_engines: list[Any] | None,
        *,
        pz_recipe: Recipe,
        **generate_kwargs: Any,
    ) -> None:
        args = strategy.args
        if args.ckpt.save_steps == -1:
            args.ckpt.save_steps = float("inf")  # as PPOTrainer: never
        if not vllm_engines:
            raise ValueError("the PretrainZero step samples with vLLM: pass --vllm.num_engines >= 1")
        tokenizer = get_tokenizer(pretrain, None, "left", strategy, use_fast=not args.data.disable_fast_tokenizer)
        super().__init__(strategy, actor_model_group, critic_model_group, reward_model_group, reference_model_group,
                         vllm_engines, tokenizer)
        self.recipe = recipe = pz_recipe
        self.generate_kwargs = generate_kwargs
        self.algorithm = recipe_algorithm(recipe)
        self.experience_maker = PretrainZeroExperienceMaker(
            actor_model_group, critic_model_group, reward_model_group, reference_model_group, self.kl_ctl, strategy,
            tokenizer, algorithm=self.algorithm)
        self.engine = OpenRLHFEngine(vllm_engines, tokenizer, max_length=args.data.max_len,
                                     eos_ids=eos_token_ids(_generation_config(pretrain), tokenizer))
        self.stream = ParagraphStream(recipe.corpus, recipe.seed)
        self.step_config = StepConfig.from_recipe(recipe)
        self.random_masker = build_masker(recipe.random_masker, recipe.random_masker_kwargs)
        kwargs = recipe.random_masker_kwargs if recipe.random_masker == "next-token" else {}
        self.rpt_masker = build_masker("next-token", kwargs)
        self.reward_fn = _predictor_reward_fn(recipe, tokenizer)
        self.size = int(args.train.batch_size)
        self.dp = (args.actor.num_nodes * args.actor.num_gpus_per_node
                   // (args.ds.ring_attn_size * args.ds.tensor_parallel_size))
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.max_steps = recipe.steps

    def get_max_steps(self) -> int:
        return self.max_steps

    def fit(self, global_step: int = 0) -> None:
        states = self.init_checkpoint_states()
        self.restore_best_checkpoint_state(states)
        global_step = states["global_step"] or global_step
        if states.get("data_loader_state_dict"):
            self.stream.load_state_dict(states["data_loader_state_dict"])
        if global_step:  # resumed: the engines still hold the initial weights
            self.broadcast_to_vllm()
        metrics = _metrics_log(Path(self.args.ckpt.path) / "metrics.jsonl", global_step)
        while global_step < self.max_steps:
            status, global_step = self.pretrainzero_train_step(global_step)
            row = {"global_step": global_step, **{k: v for k, v in status.items() if isinstance(v, (int, float))}}
            logger.info(f"PretrainZero step {global_step}: {row}")
            metrics.write(row)
            client_states = {"episode": 0, "global_step": global_step, "total_consumed_prompts": 0,
                             "data_loader_state_dict": self.stream.state_dict()}
            self.save_logs_and_checkpoints(global_step, status, client_states)
        metrics.close()
        for tracker in (self.wandb_logger, self.tensorboard_logger):
            if tracker:
                tracker.close()

    def pretrainzero_train_step(self, global_step: int) -> tuple[dict[str, Any], int]:
        """One step (module docstring, 1-4); returns the metrics and the next global step."""
        recipe, t0 = self.recipe, time.time()
        mode = "random-rlpt" if recipe.mode == "pretrainzero" and global_step < recipe.cold_start_steps else recipe.mode
        rng = np.random.default_rng([recipe.seed, global_step])  # depends only on (seed, step): resumable
        paragraphs = self.stream.take(recipe.paragraphs_per_step)
        if self.args.vllm.enable_sleep:
            batch_vllm_engine_call(self.vllm_engines, "wake_up")
        try:
            batch = pretrainzero_step(self.engine, self.tokenizer, paragraphs, self.step_config, rng, mode=mode,
                                      masker=self.rpt_masker if mode == "rpt" else self.random_masker,
                                      predictor_reward_fn=self.reward_fn)
        finally:
            if self.args.vllm.enable_sleep:
                batch_vllm_engine_call(self.vllm_engines, "sleep")
        status: dict[str, Any] = {f"pz/{k}": v for k, v in batch.stats.items()}
        status["pz/cold_start"] = float(mode != recipe.mode)
        status["timing/generation"] = time.time() - t0
        if not batch.samples:
            logger.info(f"step {global_step}: every group was filtered (equal rewards); no update")
            status.update({"pz/skipped": 1.0, "pz/generator_samples": 0.0, "pz/predictor_samples": 0.0,
                           "pz/padding_frac": 1.0})
            return status, global_step + 1
        experiences = fixed_size_experiences(batch.samples, self.size, self.dp, self.pad_id)
        counts = role_counts(experiences)
        train_status, next_step = self.train_step(experiences, global_step)
        status.update(train_status)
        status.update(self.experience_maker.last_stats)
        status.update({"pz/skipped": 0.0, "pz/generator_samples": counts["generator"],
                       "pz/predictor_samples": counts["predictor"], "pz/padding_frac": counts["padding_frac"]})
        status["timing/step_total"] = time.time() - t0
        return status, next_step

    def _compute_rollout_stats(self, experiences: list[Any]) -> dict[str, float]:
        """OpenRLHF's rollout statistics over the real samples only (ghosts would dilute them).

        The same keys as the actor's per-sample means (``reward``, ``response_length``...) are
        returned too; ``train_step`` merges these last, so the logged values exclude ghosts.
        """
        real = torch.tensor([m["pz_role"] != GHOST for m in slot_labels(experiences)])
        reward = torch.cat([e.rewards for e in experiences]).float()[real]
        length = torch.cat([e.response_length for e in experiences]).float()[real]
        total = torch.cat([e.total_length for e in experiences]).float()[real]
        truncated = torch.cat([e.truncated for e in experiences]).float()[real]
        stats = {
            "rollout/reward_mean": reward.mean().item(),
            "rollout/reward_std": reward.std().item() if len(reward) > 1 else 0.0,
            "rollout/response_length_mean": length.mean().item(),
            "rollout/truncated_rate": truncated.mean().item(),
            "rollout/num_samples": float(len(reward)),
        }
        stats.update({"reward": stats["rollout/reward_mean"], "return": stats["rollout/reward_mean"],
                      "response_length": stats["rollout/response_length_mean"],
                      "total_length": total.mean().item(), "truncated": stats["rollout/truncated_rate"]})
        return stats
