"""The engine contract's types and the pure helpers behind its rules (no torch; see the package docstring)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeGuard

FinishReason = Literal["stop", "length"]
Message = Mapping[str, str]
# rendered text or token ids; chat messages only for the OpenAI engine (the server renders them)
Prompt = str | Sequence[int] | Sequence[Message]


@dataclass(frozen=True)
class SamplingParams:
    """Decoding settings shared by all engines. ``temperature == 0`` means greedy.

    ``logprobs``: also return each generated token's log-probability (costs one log-softmax
    per decoding step on the transformers engine). ``min_new_tokens``: EOS cannot be drawn
    before this many tokens and stop strings count only from then on (HF's ``min_new_tokens``,
    vLLM's ``min_tokens``); benchmarks use it to make every sample the same length.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()
    logprobs: bool = False
    min_new_tokens: int = 0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError(f"min_new_tokens must be in [0, max_new_tokens={self.max_new_tokens}], "
                             f"got {self.min_new_tokens}")
        if isinstance(self.stop, str) or not all(isinstance(s, str) and s for s in self.stop):
            raise ValueError(f"stop must be a tuple of non-empty strings, got {self.stop!r}")


@dataclass
class Completion:
    """One sampled continuation of one prompt (the rules for each field: package docstring).

    ``token_ids``: the tokens the model produced, EOS or the stop-completing token last;
    ``logprobs``: their log-probabilities (empty unless asked for); ``prompt_ids``: the
    tokenised prompt the engine saw; ``n_tokens``: number of generated tokens (the server's
    count for HTTP engines, which return no ``token_ids``).
    """

    text: str
    token_ids: list[int]
    logprobs: list[float]
    finish_reason: FinishReason
    prompt_ids: list[int] = field(default_factory=list)
    n_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.n_tokens is None:
            self.n_tokens = len(self.token_ids)


class Engine(Protocol):
    """Anything that samples ``n`` completions for each prompt (``result[i][k]`` for prompt ``i``).

    ``seeds``: one per prompt, or None for fresh OS entropy. ``progress``, when given, is called
    with the number of samples that just finished.
    """

    def generate(self, prompts: Sequence[Prompt], n: int, params: SamplingParams,
                 seeds: Sequence[int] | None = None, *,
                 progress: Callable[[int], None] | None = None) -> list[list[Completion]]: ...


def is_token_ids(prompt: Prompt) -> TypeGuard[Sequence[int]]:
    """True for a prompt given as token ids (not text, not chat messages)."""
    return not isinstance(prompt, str) and all(isinstance(t, int) for t in prompt)


def is_empty_request(prompts: Sequence[Any], n: int) -> bool:
    """Validate ``n`` for every engine; True when there is nothing to generate (no prompts)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return not prompts


def sample_seed(seed: int, k: int) -> int:
    """The seed of sample ``k`` of a request seeded ``seed``: ``seed`` itself for ``k = 0``
    (so single-sample requests are seeded exactly as asked), else a hash of ``(seed, k)``."""
    if k == 0:
        return int(seed)
    digest = hashlib.sha256(f"{int(seed)}:{k}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1  # 63 bits: a valid torch / vLLM seed


def request_seeds(seeds: Sequence[int] | None, n_prompts: int) -> list[int]:
    """Validated per-prompt seeds; fresh ones from the OS (never the global RNG) when None."""
    if seeds is None:
        return [secrets.randbits(63) for _ in range(n_prompts)]
    if len(seeds) != n_prompts:
        raise ValueError(f"got {len(seeds)} seeds for {n_prompts} prompts: pass one seed per prompt (or None)")
    return [int(s) for s in seeds]


def find_stop(text: str, stop: Sequence[str]) -> tuple[int, str] | None:
    """``(start, stop string)`` of the stop string that starts first in ``text`` (longest on a tie)."""
    hits = [(i, -len(s), s) for s in stop if s and (i := text.find(s)) >= 0]
    if not hits:
        return None
    start, _, s = min(hits)
    return start, s


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` cut right after its first stop string (kept), and whether one was found."""
    hit = find_stop(text, stop)
    if hit is None:
        return text, False
    return text[: hit[0] + len(hit[1])], True


def strip_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` before its first stop string (what eval protocols score)."""
    hit = find_stop(text, stop)
    return text if hit is None else text[: hit[0]]


_SENTINEL = "PZ-END-OF-TURN-PROBE"


def end_of_turn_id(tokenizer: Any) -> int | None:
    """The special token the chat template puts right after an assistant message (``<|im_end|>``,
    ``<|eot_id|>``, ``<end_of_turn>``), or None without a template or when it is not special."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    msgs = [{"role": "user", "content": "x"}, {"role": "assistant", "content": _SENTINEL}]
    try:
        text = tokenizer.apply_chat_template(msgs, tokenize=False)
    except Exception:  # noqa: BLE001 — a template that refuses this conversation has no probeable end of turn
        return None
    if not isinstance(text, str) or _SENTINEL not in text:
        return None
    tail = text.split(_SENTINEL, 1)[1]
    ids = tokenizer(tail, add_special_tokens=False)["input_ids"] if tail else []
    if not ids:
        return None
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    special |= {i for i, t in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items()
                if getattr(t, "special", False)}
    return int(ids[0]) if ids[0] in special else None


def eos_token_ids(generation_config: Any, tokenizer: Any) -> list[int]:
    """The end-of-sequence rule: generation config EOS ∪ tokenizer EOS ∪ chat end-of-turn token."""
    ids: set[int] = set()
    eos = getattr(generation_config, "eos_token_id", None) if generation_config is not None else None
    for e in eos if isinstance(eos, (list, tuple)) else [eos]:
        if e is not None:
            ids.add(int(e))
    if getattr(tokenizer, "eos_token_id", None) is not None:
        ids.add(int(tokenizer.eos_token_id))
    eot = end_of_turn_id(tokenizer)
    if eot is not None:
        ids.add(eot)
    return sorted(ids)
