"""The rollout plug-in OpenRLHF's vLLM engines load (``--train.agent_func_path`` = this file).

OpenRLHF imports this file by path in every ``RolloutRayActor`` and builds ``AgentExecutor()``
once per engine. ``RolloutRayActor.generate_responses(prompt, ..., num_samples=n)`` then runs n
concurrent :meth:`AgentExecutor.execute` calls. Here ``prompt`` is a list of token ids (the
PretrainZero trainer tokenises once, :mod:`pretrainzero.openrlhf.rollout`), passed to vLLM
unchanged; a string prompt is tokenised with ``hf_tokenizer`` without special tokens. No reward is
computed: the PretrainZero step scores both roles itself.

The result is OpenRLHF's executor dict (``observation_tokens``, ``action_ranges``,
``rollout_log_probs`` over the whole sequence with 0 on prompt tokens, ``truncated``...) plus
``text`` and ``finish_reason`` of the completion.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from openrlhf.utils.agent import AgentExecutorBase

from pretrainzero.engines.vllm import completion_from_vllm


class AgentExecutor(AgentExecutorBase):
    """Token ids in, token ids out: one completion of one prompt."""

    async def execute(self, prompt: Any, label: Any, sampling_params: Any, max_length: int, hf_tokenizer: Any,
                      llm_engine: Any, images: Any = None) -> dict[str, Any]:
        if isinstance(prompt, str):
            prompt_ids = hf_tokenizer(prompt, add_special_tokens=False)["input_ids"]
        else:
            prompt_ids = [int(t) for t in prompt]
        budget = max_length - len(prompt_ids)
        if budget < 1:
            raise ValueError(f"a prompt of {len(prompt_ids)} tokens leaves no room under --data.max_len {max_length}")
        params = deepcopy(sampling_params)
        params.max_tokens = min(params.max_tokens or budget, budget)
        output = (await llm_engine.generate(prompt_ids, params)).outputs[0]
        c = completion_from_vllm(output, prompt_ids)
        logprobs = [0.0] * len(prompt_ids) + c.logprobs if output.logprobs is not None else None
        return {
            "prompt": prompt, "label": label, "images": images, "mm_train_inputs": None,
            "reward": None, "scores": None, "extra_logs": {},
            "observation_tokens": prompt_ids + c.token_ids,
            "action_ranges": [(len(prompt_ids), len(prompt_ids) + len(c.token_ids))],
            "rollout_log_probs": logprobs,
            "truncated": c.finish_reason == "length",
            "text": c.text, "finish_reason": c.finish_reason,
        }
