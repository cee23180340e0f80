"""Recipe -> OpenRLHF 0.11.2 command line: ``pretrainzero train --backend openrlhf``.

:func:`plan` maps a recipe (its top-level fields plus its ``openrlhf:`` section) to the dotted flags
of ``openrlhf.cli.train_ppo_ray``, refusing in one line anything the backend would train
differently from the embedded trainer, and warning about recipe fields that do not apply.
Nothing here imports ray, vllm or openrlhf: a dry run works on a laptop.

Two rollouts:

* ``agent: two-role`` (default): ``python -m pretrainzero.openrlhf.train_ppo_ray``, the PretrainZero
  step on OpenRLHF's engines; the game is read from the recipe file named by $PRETRAINZERO_RECIPE.
* ``agent: stock``: plain ``python -m openrlhf.cli.train_ppo_ray`` over a prompt file written by
  ``pretrainzero export``, with :mod:`pretrainzero.openrlhf.stock_agent` as the env plug-in.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from .batch import fixed_batch_size, raw_step_samples
from .config import OpenRLHFConfig
from .export import INPUT_KEY, LABEL_KEY
from .train_ppo_ray import AGENT_PLUGIN, EXACT_LOSS, RECIPE_ENV

ENTRY_MODULE = "pretrainzero.openrlhf.train_ppo_ray"
STOCK_MODULE = "openrlhf.cli.train_ppo_ray"
PLUGINS = {"two-role": AGENT_PLUGIN, "stock": AGENT_PLUGIN.with_name("stock_agent.py")}

# Project algorithm -> OpenRLHF's advantage estimator. The two-role path computes advantages with
# the project's algorithm itself, so there the estimator is only a label (it must not be gae, which
# builds a critic); the stock path uses it for real.
ESTIMATORS: dict[str, str] = {
    "dapo": "group_norm", "grpo": "group_norm", "reinforce_pp": "reinforce_baseline", "dr_grpo": "dr_grpo",
    "rloo": "rloo", "reinforce": "reinforce",
}

# Recipe fields the OpenRLHF backend has no use for: a non-default value gets a warning.
NOT_APPLICABLE: dict[str, str] = {
    "device": "OpenRLHF places models on the GPUs itself",
    "sampler_batch_size": "vLLM batches requests itself",
    "vllm_kwargs": "set vLLM options in the openrlhf: section",
    "shared_prefill": "OpenRLHF's training pass packs samples instead",
    "max_minutes": "OpenRLHF has no wall-clock budget; stop the job and resume",
    "nan_patience": "OpenRLHF does not stop on non-finite losses",
    "heldout_n": "the held-out eval is not run; evaluate the saved model with `pretrainzero eval`",
    "heldout_masker": "the held-out eval is not run",
    "heldout_masker_kwargs": "the held-out eval is not run",
    "heldout_samples": "the held-out eval is not run",
    "eval_at_start": "the held-out eval is not run",
    "eval_at_end": "the held-out eval is not run",
    "eval_max_tokens": "the held-out eval is not run",
    "sft_masker": "there is no SFT phase",
    "sft_masker_kwargs": "there is no SFT phase",
    "sft_paragraphs": "there is no SFT phase",
}
# ... and, on the stock path, the two-role game's fields (the env decides the task).
GAME_FIELDS: tuple[str, ...] = (
    "mode", "g_gen", "mask_rule", "generator_reward", "predictor_reward", "predictor_reward_kwargs",
    "normalized_match", "cold_start_steps", "random_masker", "random_masker_kwargs",
    "random_masks_per_paragraph", "prefill", "mask_prefill", "max_mask_response_tokens", "stop", "corpus",
)


@dataclass(frozen=True)
class BatchLayout:
    """How one step is laid out over OpenRLHF's batch flags."""

    samples: int  # most real samples a step can make
    size: int  # S = --train.batch_size
    n: int  # --rollout.n_samples_per_prompt
    dp: int  # data-parallel policy ranks
    train_micro: int  # --train.micro_batch_size
    rollout_micro: int  # --rollout.micro_batch_size

    @property
    def rollout_batch_size(self) -> int:
        """--rollout.batch_size: OpenRLHF counts prompts, S / n of them."""
        return self.size // self.n


class Refused(UserError):
    """A recipe the OpenRLHF backend cannot train as the embedded trainer would (one line)."""


@dataclass(frozen=True)
class Launch:
    """One OpenRLHF run: the command, its environment, and what the mapping noticed."""

    argv: tuple[str, ...]  # python -m MODULE --flag value ...
    env: dict[str, str]  # extra environment variables (the recipe path)
    layout: BatchLayout
    warnings: tuple[str, ...] = ()

    @property
    def flags(self) -> tuple[str, ...]:
        """The OpenRLHF flags alone (after ``python -m MODULE``)."""
        return self.argv[3:]

    def shell(self) -> str:
        """The command as one shell line, environment first."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return (env + " " if env else "") + shlex.join(self.argv)

    def ray_job_submit(self, address: str) -> str:
        """The same run submitted to a running Ray cluster (``ray job submit``)."""
        runtime = shlex.quote(json.dumps({"env_vars": self.env}))
        return (f"ray job submit --address {shlex.quote(address)} --runtime-env-json {runtime} -- "
                f"{shlex.join(['python', *self.argv[1:]])}")


def warmup_ratio(warmup_steps: int, total_steps: int) -> float:
    """``--actor.lr_warmup_ratio`` giving exactly ``warmup_steps``: OpenRLHF warms up for
    ceil(total * ratio) steps, and (w - 1/2) / total sits safely inside that ceiling's step."""
    if warmup_steps <= 0:
        return 0.0
    return round((min(warmup_steps, total_steps) - 0.5) / total_steps, 12)


def plugin_path(agent: str) -> Path:
    """The installed plug-in file of an agent kind (found without importing it)."""
    return PLUGINS[agent]


def model_path(model: str) -> str:
    """What OpenRLHF loads for a recipe's ``model``: local directories absolute (Ray workers do not
    share the launcher's working directory), the embedded alias as its converted checkpoint, hub
    ids unchanged."""
    from ..models import SMOLLM2_ALIAS, cache_dir

    if model == SMOLLM2_ALIAS:  # converted by the launcher before a real run (models.convert_smollm2)
        return str(cache_dir() / "models" / "SmolLM2-135M-Instruct")
    p = Path(model).expanduser()
    if p.exists() or model.startswith((".", "~", "/")) or model.count("/") > 1:
        return str(p.resolve())
    return model


def plan(
    recipe: Any,
    recipe_path: str | Path,
    *,
    out: str | Path,
    nodes: int | None = None,
    gpus_per_node: int | None = None,
    resume: bool = False,
    python: str = sys.executable,
) -> Launch:
    """Map ``recipe`` (loaded from ``recipe_path``) to an OpenRLHF launch, or raise :class:`Refused`."""
    cfg: OpenRLHFConfig | None = recipe.openrlhf
    where = Path(recipe_path).name
    if cfg is None:
        raise Refused(f"{where} has no openrlhf: section; add one (placement, memory), e.g. as in "
                      "agents/paper-qwen3-4b.yaml")
    cfg = dataclasses.replace(cfg, nodes=nodes or cfg.nodes, gpus_per_node=gpus_per_node or cfg.gpus_per_node)
    _refuse_recipe(recipe, cfg)
    warnings = [*_not_applicable(recipe, cfg.agent)]
    extra = _flag_values(cfg.extra_args)

    # Algorithm -> estimator label, loss aggregation and clip range.
    from ..rl.algorithms import get_algorithm

    algo = get_algorithm(recipe.algorithm, **recipe.algorithm_kwargs)
    agg = "token-mean" if getattr(algo, "aggregation", "sequence") == "token" else "seq-mean-token-mean"
    estimator = cfg.estimator or ESTIMATORS.get(recipe.algorithm, "group_norm")
    if recipe.algorithm not in EXACT_LOSS:
        warnings.append(f"algorithm {recipe.algorithm!r}: OpenRLHF's PolicyLoss ({agg}, PPO clip) approximates "
                        "its loss; dapo, grpo and reinforce_pp are exact")
    eps = (getattr(algo, "eps_low", 0.2), getattr(algo, "eps_high", 0.2))
    _refuse_openrlhf(recipe, cfg, estimator, extra)

    # Placement and the fixed batch size S.
    gpus = cfg.nodes * cfg.gpus_per_node
    if gpus % cfg.ring_attn_size:
        raise Refused(f"openrlhf.ring_attn_size {cfg.ring_attn_size} must divide the {gpus} policy GPUs")
    dp = gpus // cfg.ring_attn_size
    engines = cfg.vllm_engines or gpus // cfg.vllm_tensor_parallel
    if cfg.colocate and engines * cfg.vllm_tensor_parallel != gpus:
        raise Refused(f"colocate needs vLLM engines x tensor parallel = GPUs: {engines} x "
                      f"{cfg.vllm_tensor_parallel} != {cfg.nodes} x {cfg.gpus_per_node}; fix openrlhf.vllm_engines "
                      "or openrlhf.vllm_tensor_parallel")
    if not cfg.colocate and cfg.vllm_engines is None:
        raise Refused("openrlhf.colocate: false needs openrlhf.vllm_engines (their GPUs come on top of the "
                      "policy's nodes x gpus_per_node)")
    train_micro = cfg.train_micro_batch_size or recipe.micro_batch_size
    n = recipe.g_pred  # OpenRLHF's n_samples_per_prompt (two-role: bookkeeping only; the step groups)
    # two-role: room for a whole step of both roles; stock: P prompts x n samples
    samples = raw_step_samples(recipe) if cfg.agent == "two-role" else recipe.paragraphs_per_step * n
    size = fixed_batch_size(samples, n, dp, train_micro, cfg.rollout_micro_batch_size)
    layout = BatchLayout(samples, size, n, dp, train_micro, cfg.rollout_micro_batch_size)
    if cfg.agent == "stock" and size != samples:
        warnings.append(f"stock path: {size // n} prompts per step instead of P={recipe.paragraphs_per_step} "
                        f"(S={size} must divide by dp x micro batches)")

    out = Path(out).resolve()
    agent_path = Path(cfg.agent_func_path).expanduser().resolve() if cfg.agent_func_path else plugin_path(cfg.agent)
    if not agent_path.is_file():
        raise Refused(f"agent plug-in {agent_path} not found; set openrlhf.agent_func_path to an existing file "
                      "(it must exist at that path on every node)")

    max_new = max(recipe.max_response_tokens, recipe.mask_max_tokens)
    total_steps = recipe.steps
    flags: list[str] = [
        "--actor.model_name_or_path", model_path(recipe.model),
        "--actor.num_nodes", str(cfg.nodes), "--actor.num_gpus_per_node", str(cfg.gpus_per_node),
        "--vllm.num_engines", str(engines), "--vllm.tensor_parallel_size", str(cfg.vllm_tensor_parallel),
        "--vllm.gpu_memory_utilization", _num(cfg.vllm_gpu_memory), "--vllm.enable_prefix_caching",
    ]
    if cfg.vllm_enforce_eager:
        flags += ["--vllm.enforce_eager"]
    if cfg.colocate:
        flags += ["--train.colocate_all", "--vllm.enable_sleep", "--ds.enable_sleep"]
    flags += [
        "--train.agent_func_path", str(agent_path),
        "--algo.kl.init_coef", "0",
        "--algo.advantage.estimator", estimator,
        "--rollout.n_samples_per_prompt", str(layout.n),
        "--rollout.batch_size", str(layout.rollout_batch_size),
        "--rollout.micro_batch_size", str(layout.rollout_micro),
        "--train.batch_size", str(layout.size),
        "--train.micro_batch_size", str(layout.train_micro),
        "--train.max_epochs", "1",
    ]
    if cfg.agent == "stock":
        dataset, total_steps, episodes = _stock_dataset(cfg, layout, recipe.steps)
        flags += ["--data.prompt_dataset", str(dataset), "--data.input_key", INPUT_KEY,
                  "--data.label_key", LABEL_KEY, "--train.num_episodes", str(episodes)]
        if recipe.prompt_form == "chat":
            flags += ["--data.apply_chat_template"]
        if recipe.filter_groups:  # 0/1 rewards: mean strictly inside (0, 1) <=> not all equal (DAPO)
            flags += ["--algo.dynamic_filtering_enable", "--algo.dynamic_filtering_range", "0", "1"]
        if total_steps != recipe.steps:
            warnings.append(f"stock path: {total_steps} optimizer steps ({episodes} passes over {dataset.name}) "
                            f"instead of steps={recipe.steps}; export more prompts to match")
    flags += [
        "--actor.eps_clip_low_high", _num(eps[0]), _num(eps[1]),
        "--actor.loss_agg_mode", agg,
        "--actor.adam.lr", _num(recipe.lr),
        "--actor.adam.betas", "0.9", "0.999",  # torch AdamW's, as in the embedded trainer
        "--actor.adam.weight_decay", _num(recipe.weight_decay),
        "--actor.max_norm", _num(recipe.grad_clip),
        "--actor.lr_scheduler", "cosine_with_min_lr" if recipe.schedule == "cosine" else "constant_with_warmup",
        "--actor.min_lr_ratio", _num(recipe.min_lr_ratio),
        "--actor.lr_warmup_ratio", _num(warmup_ratio(recipe.warmup_steps, total_steps)),
        "--data.max_len", str(recipe.max_prompt_tokens + max_new),
        "--rollout.max_new_tokens", str(max_new),
        "--rollout.temperature", _num(recipe.temperature),
        "--rollout.top_p", _num(recipe.top_p),
        "--ds.zero_stage", str(cfg.zero_stage),
        "--ds.param_dtype", "bf16",
        "--ds.attn_implementation", cfg.attn_implementation,
    ]
    if cfg.gradient_checkpointing:
        flags += ["--actor.gradient_checkpointing_enable"]
    if cfg.packing:
        if "flash_attention" not in cfg.attn_implementation:
            raise Refused(f"openrlhf.packing needs a flash_attention attn_implementation, got "
                          f"{cfg.attn_implementation!r}; set packing: false to use it")
        flags += ["--ds.packing_samples"]
    if cfg.adam_offload:
        flags += ["--ds.adam_offload"]
    if cfg.ring_attn_size > 1:
        flags += ["--ds.ring_attn_size", str(cfg.ring_attn_size)]
    flags += [
        "--ckpt.path", str(out / "ckpt"),
        "--ckpt.output_dir", str(out / "final"),
        "--ckpt.save_steps", str(recipe.save_every),
        "--ckpt.max_num", str(recipe.keep_checkpoints),
        "--ckpt.save_hf",
        "--train.seed", str(recipe.seed),
        "--logger.tensorboard_dir", str(out / "tensorboard"),
    ]
    if resume:
        flags += ["--ckpt.load_enable"]
    clash = sorted(set(extra) & set(_flag_values(flags)))
    if clash:
        raise Refused(f"openrlhf.extra_args sets {', '.join(clash)}, which the launcher derives from the recipe; "
                      "change the recipe field instead")
    flags += list(cfg.extra_args)

    module = ENTRY_MODULE if cfg.agent == "two-role" else STOCK_MODULE
    env = {RECIPE_ENV: str(Path(recipe_path).resolve())} if cfg.agent == "two-role" else {}
    return Launch((python, "-m", module, *flags), env, layout, tuple(warnings))


# ----------------------------------------------------------------------------- checks


def _refuse_recipe(recipe: Any, cfg: OpenRLHFConfig) -> None:
    if recipe.dtype == "float32":
        raise Refused("dtype: float32 is not supported by OpenRLHF (DeepSpeed trains in bf16); set dtype: bfloat16")
    if recipe.predictor_reward == "likelihood" and cfg.agent == "two-role":
        raise Refused("predictor_reward: likelihood scores with the policy's own forward pass, which OpenRLHF's "
                      "rollout engines do not expose; use exact (or the embedded trainer)")
    if recipe.sft is not None:
        raise Refused("an inline sft: section has no OpenRLHF counterpart; run the cold start with the embedded "
                      "trainer first (pretrainzero train --recipe R --steps 0 --out runs/R-sft), then "
                      "--set model=runs/R-sft/checkpoints/step-000000 --set sft=null")
    if cfg.agent == "stock" and recipe.g_pred < 2:
        raise Refused("the stock path's groups are g_pred samples of one prompt; set g_pred >= 2")


def _refuse_openrlhf(recipe: Any, cfg: OpenRLHFConfig, estimator: str, extra: dict[str, list[str]]) -> None:
    temp = cfg.temperature if cfg.temperature is not None else _float(extra, "--rollout.temperature")
    if temp is not None and temp != recipe.temperature:
        raise Refused(f"rollout temperature {temp} differs from the recipe's temperature {recipe.temperature}: "
                      "the loss assumes samples from the trained policy; set one temperature")
    kl = max(cfg.kl_coef, _float(extra, "--algo.kl.init_coef") or 0.0)
    if kl > 0 or "--algo.kl.use_loss" in extra:
        raise Refused(f"KL > 0 (coefficient {kl}) is not the paper's setting and needs a reference model; "
                      "PretrainZero trains without KL: remove it")
    est = extra.get("--algo.advantage.estimator", [estimator])[0]
    if est == "gae":
        raise Refused("estimator gae needs a critic model; PretrainZero's algorithms are critic-free: "
                      "remove openrlhf.estimator or pick one of the group estimators")
    epochs = max(cfg.max_epochs, int(_float(extra, "--train.max_epochs") or 1))
    if epochs > 1:
        raise Refused(f"max_epochs {epochs}: the step is one policy update per batch (on-policy); set it to 1")
    if cfg.async_train or "--train.async_enable" in extra or "--train.partial_rollout_enable" in extra:
        raise Refused("async training samples from a stale policy, which the step's one on-policy update does "
                      "not expect; remove async")


def _not_applicable(recipe: Any, agent: str) -> list[str]:
    defaults = type(recipe)()
    fields = dict(NOT_APPLICABLE)
    if agent == "stock":
        fields.update({f: "the stock path trains one env's task from its prompt file" for f in GAME_FIELDS})
    return [f"recipe field {name!r} does not apply to the OpenRLHF backend ({why})"
            for name, why in fields.items() if getattr(recipe, name) != getattr(defaults, name)]


def _stock_dataset(cfg: OpenRLHFConfig, layout: BatchLayout, steps: int) -> tuple[Path, int, int]:
    """The prompt file, OpenRLHF's optimizer steps over it, and the passes (episodes) needed."""
    if not cfg.prompt_dataset:
        raise Refused("the stock path needs openrlhf.prompt_dataset; write it with "
                      "`pretrainzero export ENV_ID --n N --out prompts.jsonl`")
    path = Path(cfg.prompt_dataset).expanduser().resolve()
    if not path.is_file():
        raise Refused(f"prompt file {path} not found; write it with `pretrainzero export ENV_ID --n N --out {path}`")
    with path.open("rb") as fh:
        prompts = sum(1 for line in fh if line.strip())
    per_pass = prompts * layout.n // layout.size  # OpenRLHF's max_steps per episode
    if per_pass < 1:
        raise Refused(f"{path.name} holds {prompts} prompts, fewer than one step's {layout.rollout_batch_size}; "
                      "export more")
    episodes = math.ceil(steps / per_pass)
    return path, per_pass * episodes, episodes


def _flag_values(args: Sequence[str]) -> dict[str, list[str]]:
    """``--flag v1 v2 --switch`` as ``{"--flag": ["v1", "v2"], "--switch": []}``."""
    values: dict[str, list[str]] = {}
    current = None
    for a in args:
        if a.startswith("--"):
            current = a.split("=", 1)[0]
            values[current] = [a.split("=", 1)[1]] if "=" in a else []
        elif current is not None:
            values[current].append(a)
    return values


def _float(values: dict[str, list[str]], flag: str) -> float | None:
    v = values.get(flag)
    if not v:
        return None
    try:
        return float(v[0])
    except ValueError:
        raise Refused(f"openrlhf.extra_args: {flag} needs a number, got {v[0]!r}") from None


def _num(x: float) -> str:
    """A number as OpenRLHF's argparse reads it back exactly (``5e-07``, ``0.2``, ``1``)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))
