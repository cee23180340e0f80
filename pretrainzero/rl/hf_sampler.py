"""Batched sampling with transformers ``generate`` (CPU or one GPU).

What it takes care of, because every mistake here costs speed or correctness:

* prompts are tokenised once, sorted by length and batched (``batch_size`` sequences, the ``n``
  copies of a prompt side by side), left-padded, with ``pad_token_id`` and ``attention_mask``
  always passed (without them generation on CPU is several times slower and erratic);
* temperature / top-p sampling with top-k disabled, greedy when ``temperature == 0``;
* per-token log-probabilities of the sampled tokens under the temperature-scaled model
  distribution (before top-p truncation, i.e. what the trainer recomputes), recorded during
  generation by a logits processor that keeps one ``[batch, vocab]`` buffer instead of all scores;
* ``shared_prefill``: the ``n`` copies of a prompt share one prefill (the prompt goes through the
  model once and its KV cache is repeated ``n`` times), which saves ``(n-1)/n`` of the prompt
  compute: the G predictions of one masked paragraph cost one paragraph read, not G;
* stop strings end a sequence early; its text and tokens are cut right after the first stop
  string (the stop string is kept), ``finish_reason="stop"``; EOS also gives ``"stop"`` and the
  EOS token is kept in ``token_ids`` (the policy must learn to stop), not in ``text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from .sampler import Completion, SamplingParams


class _LogprobRecorder(LogitsProcessor):
    """Records log p(token_t) for each sampled token, holding only the previous step's log-softmax."""

    def __init__(self, temperature: float) -> None:
        self.temperature = temperature if temperature > 0 else 1.0
        self.prev: torch.Tensor | None = None
        self.out: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prev is not None:  # input_ids now ends with the token sampled from self.prev
            self.out.append(self.prev.gather(1, input_ids[:, -1:]).squeeze(1))
        self.prev = torch.log_softmax(scores.float() / self.temperature, dim=-1)
        return scores

    def finish(self, last_tokens: torch.Tensor) -> torch.Tensor:
        if self.prev is not None:
            self.out.append(self.prev.gather(1, last_tokens[:, None]).squeeze(1))
        self.prev = None
        return torch.stack(self.out, 1) if self.out else torch.zeros(len(last_tokens), 0)


class TransformersSampler:
    """:class:`~pretrainzero.rl.sampler.Sampler` on a ``transformers`` causal LM.

    The model is used in place, so after each optimiser step the sampler is already on-policy.
    """

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 32, *, shared_prefill: bool = True) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.shared_prefill = shared_prefill
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        if pad is None:
            raise ValueError("tokenizer has neither a pad nor an EOS token")
        self.pad_id = int(pad)
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = tokenizer.eos_token_id
        self.eos_ids = sorted({int(e) for e in (eos if isinstance(eos, list) else [eos]) if e is not None})

    @torch.no_grad()
    def generate(self, prompts: Sequence[str], n: int, params: SamplingParams) -> list[list[Completion]]:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if not prompts:
            return []
        if params.seed is not None:
            torch.manual_seed(params.seed)
        ids = self.tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
        order = sorted(range(len(prompts)), key=lambda i: len(ids[i]))  # similar lengths share a batch
        items = [i for i in order for _ in range(n)]
        results: list[list[Completion]] = [[] for _ in prompts]
        was_training = self.model.training
        self.model.eval()
        # whole groups of n copies per batch where possible, so each batch can share prefills
        step = (self.batch_size // n) * n if n <= self.batch_size else self.batch_size
        try:
            for b in range(0, len(items), step):
                chunk = items[b : b + step]
                for i, c in zip(chunk, self._generate_batch([ids[i] for i in chunk], params), strict=True):
                    results[i].append(c)
        finally:
            self.model.train(was_training)
        return results

    def _generate_batch(self, prompt_ids: list[list[int]], params: SamplingParams) -> list[Completion]:
        device = self.model.device
        width = max(len(p) for p in prompt_ids)
        input_ids = torch.full((len(prompt_ids), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompt_ids), width), dtype=torch.long)
        for r, p in enumerate(prompt_ids):
            input_ids[r, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            attention[r, width - len(p) :] = 1
        recorder = _LogprobRecorder(params.temperature)
        sample = params.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens, "do_sample": sample, "pad_token_id": self.pad_id,
            "eos_token_id": self.eos_ids, "logits_processor": LogitsProcessorList([recorder]),
        }
        if sample:
            kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        if self.shared_prefill:
            cache = self._shared_prefill(prompt_ids, input_ids.to(device), attention.to(device))
            if cache is not None:
                kwargs["cache"] = cache
        out = self.model.generate(input_ids=input_ids.to(device), attention_mask=attention.to(device), **kwargs)
        gen = out[:, width:].cpu()
        logp = recorder.finish(out[:, -1]).cpu() if gen.shape[1] else torch.zeros(len(prompt_ids), 0)

        # first EOS per row (vectorised); rows without EOS ran to the length limit (or a stop string)
        is_eos = torch.isin(gen, torch.tensor(self.eos_ids, dtype=gen.dtype))
        has_eos = is_eos.any(1)
        first_eos = torch.where(has_eos, is_eos.int().argmax(1), torch.full_like(has_eos, gen.shape[1], dtype=torch.long))
        completions = []
        for r in range(len(prompt_ids)):
            end = int(first_eos[r]) + 1 if has_eos[r] else gen.shape[1]
            toks = gen[r, :end].tolist()
            reason = "stop" if has_eos[r] else "length"
            text = self.tokenizer.decode(toks, skip_special_tokens=True)
            if params.stop:
                cut = _stop_cut(self.tokenizer, toks, text, params.stop)
                if cut is not None:
                    toks, text = cut
                    reason = "stop"
            completions.append(Completion(text, toks, logp[r, : len(toks)].tolist(), reason, list(prompt_ids[r])))
        return completions


    def _shared_prefill(self, prompt_ids: list[list[int]], input_ids: torch.Tensor, attention: torch.Tensor) -> Any:
        """KV cache of all but the last prompt token, computed once per run of identical prompts."""
        rows = len(prompt_ids)
        starts = [0] + [r for r in range(1, rows) if prompt_ids[r] != prompt_ids[r - 1]]
        runs = {b - a for a, b in zip(starts, starts[1:] + [rows], strict=True)}
        if len(runs) != 1 or (k := runs.pop()) == 1 or input_ids.shape[1] < 2:
            return None
        uid, uatt = input_ids[starts, :-1], attention[starts, :-1]
        pos = (uatt.cumsum(-1) - 1).clamp(min=0)
        cache = self.model(input_ids=uid, attention_mask=uatt, position_ids=pos, use_cache=True).cache
        if not hasattr(cache, "batch_repeat_interleave"):  # exotic cache types: no sharing
            return None
        cache.batch_repeat_interleave(k)
        return cache


def _stop_cut(tokenizer: Any, toks: list[int], text: str, stop: Sequence[str]) -> tuple[list[int], str] | None:
    """Cut at the first stop string: the shortest token prefix whose text contains it."""
    hits = [(text.find(s), s) for s in stop if s in text]
    if not hits:
        return None
    pos, s = min(hits)
    target = text[: pos + len(s)]
    lo, hi = 1, len(toks)  # binary search: decoding a longer prefix only appends text
    while lo < hi:
        mid = (lo + hi) // 2
        if target in tokenizer.decode(toks[:mid], skip_special_tokens=True):
            hi = mid
        else:
            lo = mid + 1
    return toks[:lo], target
