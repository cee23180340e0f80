"""The ``openrlhf:`` section of a recipe: how a run is laid out on GPUs with OpenRLHF 0.11.2.

The game (P, G_gen, G_pred, masks, rewards, prompts) and the optimiser (lr, schedule, clip) stay in
the recipe's top-level fields, shared with the embedded trainer; this section holds only what the
embedded trainer has no use for. The embedded trainer ignores it.

    openrlhf:
      nodes: 1
      gpus_per_node: 8
      vllm_gpu_memory: 0.6
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..rl.checks import check_finite, check_range

ESTIMATORS: tuple[str, ...] = ("reinforce", "rloo", "reinforce_baseline", "group_norm", "dr_grpo",
                               "flash_reinforce", "gae")


@dataclass(frozen=True)
class OpenRLHFConfig:
    """Placement, memory and plug-in settings of ``pretrainzero train --backend openrlhf``.

    ``temperature``, ``kl_coef``, ``estimator: gae``, ``max_epochs`` and ``async_train`` exist so a
    recipe that sets them is refused with a reason instead of silently trained differently.
    """

    # Which rollout: the two-role PretrainZero step (faithful) or stock OpenRLHF on one env's prompts.
    agent: Literal["two-role", "stock"] = "two-role"
    agent_func_path: str | None = None  # default: the installed plug-in of `agent`
    prompt_dataset: str | None = None  # stock: the file `pretrainzero export ENV_ID --out` wrote

    # Placement (the CLI's --nodes / --gpus-per-node override these)
    nodes: int = 1
    gpus_per_node: int = 8
    colocate: bool = True  # policy and vLLM share every GPU, taking turns (sleep mode)
    vllm_engines: int | None = None  # default: nodes * gpus_per_node / vllm_tensor_parallel
    vllm_tensor_parallel: int = 1
    vllm_gpu_memory: float = 0.6  # fraction of a GPU vLLM may take when it is awake
    vllm_enforce_eager: bool = False  # no CUDA graphs: slower, but starts faster (smoke runs)

    # DeepSpeed
    zero_stage: int = 3
    gradient_checkpointing: bool = True
    adam_offload: bool = False
    packing: bool = True  # pack samples without padding; needs flash-attn
    attn_implementation: str = "flash_attention_2"
    ring_attn_size: int = 1  # context parallelism (divides the data-parallel ranks)
    train_micro_batch_size: int | None = None  # per GPU; default: the recipe's micro_batch_size
    rollout_micro_batch_size: int = 8  # per GPU, for the log-prob pass over rollouts

    # Settings the PretrainZero step fixes; other values are refused
    estimator: str | None = None  # OpenRLHF's advantage estimator; default: the recipe algorithm's
    temperature: float | None = None  # rollout temperature; must equal the recipe's
    kl_coef: float = 0.0
    max_epochs: int = 1
    async_train: bool = False

    extra_args: tuple[str, ...] = ()  # further OpenRLHF flags, appended verbatim (e.g. wandb)

    def __post_init__(self) -> None:
        for name in ("nodes", "gpus_per_node", "vllm_tensor_parallel", "ring_attn_size",
                     "rollout_micro_batch_size", "max_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("vllm_engines", "train_micro_batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if self.zero_stage not in (0, 1, 2, 3):
            raise ValueError(f"zero_stage must be 0, 1, 2 or 3, got {self.zero_stage}")
        check_finite(self)
        check_range(self, "vllm_gpu_memory", 0, 1, lo_open=True, why="a fraction of each GPU")
        check_range(self, "temperature", 0, 10)
        check_range(self, "kl_coef", 0, math.inf)
        if self.estimator is not None and self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}")
