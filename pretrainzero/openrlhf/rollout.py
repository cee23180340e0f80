"""An :class:`~pretrainzero.engines.Engine` over OpenRLHF's vLLM engine actors.

``generate(prompts, n, params, seeds)`` tokenises each prompt once (no special tokens added, the
engine contract's rule) and sends the token ids to a ``RolloutRayActor`` through
``generate_responses(prompt=token_ids, num_samples=1, ...)``, one request per sample, each seeded
``sample_seed(seeds[i], k)`` as the contract says; the engine runs :mod:`.agent_plugin`'s
``AgentExecutor``, which hands the ids to vLLM unchanged and returns vLLM's token ids,
log-probabilities and text. The trained sequence is therefore exactly what the engine saw and
produced (no re-tokenisation drift). Prompts go round-robin over the engines; the n samples of a
prompt go to the same engine, so its prefix cache serves them. End of sequence: the EOS set of the
contract (``eos_token_ids``) is passed to vLLM as ``stop_token_ids``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ray
from vllm import SamplingParams as VLLMSamplingParams

from ..engines.base import (
    Completion,
    Prompt,
    SamplingParams,
    is_empty_request,
    is_token_ids,
    request_seeds,
    sample_seed,
)
from ..engines.vllm import vllm_sampling_kwargs


def completion_from_response(response: dict[str, Any], prompt_ids: Sequence[int]) -> Completion:
    """One executor result (:mod:`.agent_plugin`'s dict) as a :class:`Completion`."""
    tokens = list(response["observation_tokens"])
    p = len(prompt_ids)
    if tokens[:p] != list(prompt_ids) or [tuple(r) for r in response["action_ranges"]] != [(p, len(tokens))]:
        raise RuntimeError("the rollout engine returned a sequence that does not start with the prompt it was sent; "
                           "is --train.agent_func_path pretrainzero/openrlhf/agent_plugin.py?")
    logprobs = response["rollout_log_probs"]
    return Completion(text=response["text"], token_ids=tokens[p:], logprobs=list(logprobs[p:]) if logprobs else [],
                      finish_reason=response["finish_reason"], prompt_ids=list(prompt_ids))


class OpenRLHFEngine:
    """Samples with OpenRLHF ``RolloutRayActor`` handles (what ``create_vllm_engines`` returns).

    ``max_length`` is ``--data.max_len`` (prompt + completion); ``eos_ids`` the contract's EOS set.
    """

    def __init__(self, engines: Sequence[Any], tokenizer: Any, *, max_length: int, eos_ids: Sequence[int] = ()):
        if not engines:
            raise ValueError("OpenRLHFEngine needs at least one vLLM engine")
        self.engines, self.tokenizer, self.max_length = list(engines), tokenizer, max_length
        self.eos_ids = list(eos_ids)

    def generate(self, prompts: Sequence[Prompt], n: int, params: SamplingParams,
                 seeds: Sequence[int] | None = None, *,
                 progress: Callable[[int], None] | None = None) -> list[list[Completion]]:
        if is_empty_request(prompts, n):
            return []
        seeds_ = request_seeds(seeds, len(prompts))
        ids: list[list[int]] = []
        for i, p in enumerate(prompts):
            if isinstance(p, str):
                ids.append(list(self.tokenizer(p, add_special_tokens=False)["input_ids"]))
            elif is_token_ids(p):
                ids.append(list(p))
            else:
                raise ValueError(f"prompt {i} must be text or a list of token ids (render chat messages first)")
        refs = []
        for i, (p, seed) in enumerate(zip(ids, seeds_, strict=True)):
            engine = self.engines[i % len(self.engines)]
            for k in range(n):
                sp = VLLMSamplingParams(**vllm_sampling_kwargs(params, 1, sample_seed(seed, k), self.eos_ids))
                refs.append(engine.generate_responses.remote(prompt=p, label=None, sampling_params=sp,
                                                             max_length=self.max_length, hf_tokenizer=None,
                                                             num_samples=1))
        results = ray.get(refs)
        if progress is not None:
            progress(n * len(prompts))
        return [[completion_from_response(results[i * n + k][0], p) for k in range(n)] for i, p in enumerate(ids)]
