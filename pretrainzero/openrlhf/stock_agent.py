"""OpenRLHF plug-in for stock single-role training on any registered env (``--train.agent_func_path``).

OpenRLHF 0.11.2 loads this file in every vLLM engine process and builds ``AgentExecutor()``. For each
sample, OpenRLHF's own ``MultiTurnAgentExecutor`` creates a :class:`GymAgent`, which

1. rebuilds the episode from the prompt's label (env id, paragraph id, episode seed; written by
   ``pretrainzero export``), so the n samples of a prompt, OpenRLHF's advantage group, all play
   the same episode;
2. steps the Gymnasium env with each completion and returns its reward as a tensor; a multi-step
   env's next observation is appended as a new user turn (chat prompts) or verbatim (raw prompts);
3. turns any exception into reward 0 for that sample, logging the reason (a crashed reward would
   stall OpenRLHF's batch), and reports it in ``pz/agent_error``.

This is stock OpenRLHF GRPO/REINFORCE on one role. The PretrainZero game itself, where predictor
prompts depend on the same step's masks, needs the two-role path (``agent_plugin.py``).
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

import gymnasium
import torch
from openrlhf.utils.agent import AgentInstanceBase, MultiTurnAgentExecutor

import pretrainzero  # noqa: F401  (registers the built-in corpora's env ids in this engine process)
from pretrainzero.openrlhf.export import parse_label

logger = logging.getLogger("pretrainzero.openrlhf.stock_agent")

# The engine's tokenizer for the sample being executed (each sample runs in its own asyncio task,
# and a task sees only its own context), used to write a multi-step env's next turn.
_TOKENIZER: contextvars.ContextVar[Any] = contextvars.ContextVar("pretrainzero_tokenizer", default=None)


def next_turn(tokenizer: Any, prompt: str, observation: str) -> str:
    """Text appended after an action to show ``observation`` as the next user turn.

    A chat prompt gets what the chat template puts between an assistant's answer and the next
    user turn's generation prompt, less the end-of-turn token the model generated itself; a raw
    prompt gets the observation after a blank line.
    """
    if getattr(tokenizer, "chat_template", None) and prompt.rstrip().endswith(_generation_marker(tokenizer)):
        mark = "PZ-ANSWER-MARK"
        two = [{"role": "user", "content": "u"}, {"role": "assistant", "content": mark}]
        before = tokenizer.apply_chat_template(two, tokenize=False)
        after = tokenizer.apply_chat_template([*two, {"role": "user", "content": observation}], tokenize=False,
                                              add_generation_prompt=True)
        if after.startswith(before) and mark in before:
            tail = before[before.rindex(mark) + len(mark):]  # e.g. "<|im_end|>\n"
            ids = tokenizer(tail, add_special_tokens=False)["input_ids"]
            if ids and ids[0] in set(tokenizer.all_special_ids):  # the stop token ends the action already
                tail = tokenizer.decode(ids[1:])
            return tail + after[len(before):]
        return tokenizer.apply_chat_template([{"role": "user", "content": observation}], tokenize=False,
                                             add_generation_prompt=True)
    return "\n\n" + observation


def _generation_marker(tokenizer: Any) -> str:
    """What a chat prompt ends with (the template's assistant header), stripped."""
    user = [{"role": "user", "content": "u"}]
    head = tokenizer.apply_chat_template(user, tokenize=False)
    full = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    return full[len(head):].rstrip() if full.startswith(head) else full.rstrip()[-16:]


class GymAgent(AgentInstanceBase):
    """One sample's episode of a registered env, rebuilt from the dataset label."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.env: gymnasium.Env | None = None
        self.error: str | None = None
        self.prompt = ""

    async def reset(self, states: dict, **kwargs: Any) -> dict:
        self.prompt = states["observation"]
        try:
            label = parse_label(states["label"])
            self.env = gymnasium.make(label["env"], **label.get("env_kwargs", {}))
            obs, _ = self.env.reset(options={"paragraph_id": label["paragraph_id"], "seed": int(label["seed"])})
            if obs.strip() not in self.prompt:
                raise ValueError("the env's observation is not in the prompt (corpus or env changed since export)")
        except Exception as exc:  # noqa: BLE001  (any failure costs one sample, not the batch)
            self._fail("reset", exc)
        return {"observation": self.prompt}

    async def step(self, states: dict, **kwargs: Any) -> dict:
        reward, done, feedback = 0.0, True, ""
        if self.error is None and self.env is not None:
            try:
                obs, r, terminated, truncated, _ = self.env.step(states["action_text"])
                reward, done = float(r), bool(terminated or truncated)
                if not done:
                    feedback = next_turn(_TOKENIZER.get(), self.prompt, obs)
            except Exception as exc:  # noqa: BLE001
                self._fail("step", exc)
                reward, done, feedback = 0.0, True, ""
        if done and self.env is not None:
            self.env.close()
        r = torch.tensor(reward)
        return {
            "rewards": r,
            "scores": r,
            "environment_feedback": feedback,
            "done": done,
            "sampling_params": states.get("sampling_params"),
            "extra_logs": {"pz/agent_error": float(self.error is not None)},
        }

    def _fail(self, where: str, exc: BaseException) -> None:
        self.error = f"{type(exc).__name__}: {exc}"
        logger.warning("pretrainzero stock agent: %s failed, sample gets reward 0: %s", where, self.error)


class AgentExecutor(MultiTurnAgentExecutor):
    """What OpenRLHF instantiates (no arguments): its multi-turn loop over :class:`GymAgent`."""

    def __init__(self) -> None:
        super().__init__(GymAgent)

    async def execute(self, prompt, label, sampling_params, max_length: int, hf_tokenizer, llm_engine,
                      images=None):
        _TOKENIZER.set(hf_tokenizer)
        return await super().execute(prompt, label, sampling_params, max_length, hf_tokenizer, llm_engine,
                                     images=images)
