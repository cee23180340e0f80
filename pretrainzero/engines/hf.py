"""The transformers engine: one decode loop for the trainer's sampler, held-out evaluation and eval.

The loop (:meth:`TransformersEngine.generate`), and why each part is there:

* prompts are tokenised once and taken longest first (the most memory-hungry batch fails fast,
  similar lengths share a batch), ``batch_size`` sample rows per batch with the ``n`` samples
  of a prompt side by side;
* **shared prefill**: each distinct prompt of a batch runs through the model once, then its KV
  cache row and last logits are repeated for its samples, so the G samples of one prompt cost
  one prompt pass, not G (``shared_prefill=False`` prefills every row, for comparison);
* **row pruning**: a row that ends (EOS, stop string) leaves the batch and the KV cache at once,
  so a batch costs as much as its live rows, not its longest answer times its width;
* sampling: temperature, then top-p (top-k off), inverse-CDF draws; sample row ``r`` draws its
  ``t``-th token with the ``t``-th uniform of its own ``torch.Generator`` seeded by
  :func:`~pretrainzero.engines.base.sample_seed` (drawn once per row, the rest is batched);
  greedy is ``argmax``;
* log-probabilities (when asked) from the same logits the token was drawn from (EOS masked
  while a row is shorter than ``min_new_tokens``).

End of sequence, stop strings and seeding follow the rules of :mod:`pretrainzero.engines`. Only
transformers APIs present from 5.15 on are used: a :class:`~transformers.DynamicCache` built
here and updated in place, passed under the forward's own name for it (:func:`cache_kwarg`),
``batch_select_indices`` to repeat and drop cache rows, ``logits_to_keep``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .base import (
    Completion,
    FinishReason,
    Prompt,
    SamplingParams,
    cut_at_stop,
    eos_token_ids,
    find_stop,
    is_empty_request,
    is_token_ids,
    request_seeds,
    sample_seed,
)
from .padding import left_pad


def cache_kwarg(model: Any) -> str:
    """The name ``model.forward`` takes its KV cache under: ``cache`` (newer transformers) or
    ``past_key_values`` (5.15-5.2x); passing the other name warns or breaks across versions."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def new_cache(model: Any) -> Any:
    """An empty dynamic KV cache for ``model`` (sliding-window layers included)."""
    from transformers import DynamicCache

    return DynamicCache(config=model.config)


class TransformersEngine:
    """:class:`~pretrainzero.engines.Engine` on a ``transformers`` causal LM, used in place.

    ``batch_size``: sample rows decoded together. The model's train/eval mode is restored after
    each call; the global torch RNG is never used.
    """

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 32, shared_prefill: bool = True) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = int(batch_size)
        self.shared_prefill = shared_prefill
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        if pad is None:
            raise ValueError("tokenizer has neither a pad nor an EOS token; set tokenizer.pad_token")
        self.pad_id = int(pad)
        self.eos_ids = eos_token_ids(getattr(model, "generation_config", None), tokenizer)
        self._cache_kw = cache_kwarg(model)

    def encode(self, prompts: Sequence[Prompt]) -> list[list[int]]:
        """Token ids of each prompt: text without added special tokens, id lists as they are."""
        texts = [(i, p) for i, p in enumerate(prompts) if isinstance(p, str)]
        out: list[list[int]] = [[] for _ in prompts]
        if texts:
            enc = self.tokenizer([p for _, p in texts], add_special_tokens=False)["input_ids"]
            for (i, _), ids in zip(texts, enc, strict=True):
                out[i] = list(ids)
        for i, p in enumerate(prompts):
            if not isinstance(p, str):
                if not is_token_ids(p):
                    raise ValueError(f"prompt {i} must be text or a list of token ids (render chat messages first)")
                out[i] = list(p)
            if not out[i]:
                raise ValueError(f"prompt {i} has no tokens")
        return out

    def generate(self, prompts: Sequence[Prompt], n: int, params: SamplingParams,
                 seeds: Sequence[int] | None = None, *,
                 progress: Callable[[int], None] | None = None) -> list[list[Completion]]:
        if is_empty_request(prompts, n):
            return []
        ids = self.encode(prompts)
        seeds_ = request_seeds(seeds, len(prompts)) if params.temperature > 0 else [0] * len(prompts)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        rows = [(i, k) for i in order for k in range(n)]
        # whole groups of n samples per batch where possible, so each batch can share prefills
        step = (self.batch_size // n) * n if n <= self.batch_size else self.batch_size
        results: list[list[Completion | None]] = [[None] * n for _ in prompts]
        was_training = self.model.training
        self.model.eval()
        try:
            for b in range(0, len(rows), step):
                chunk = rows[b:b + step]
                for (i, k), c in zip(chunk, self._decode(chunk, ids, params, seeds_), strict=True):
                    results[i][k] = c
                if progress is not None:
                    progress(len(chunk))
        finally:
            self.model.train(was_training)
        return [[c for c in group if c is not None] for group in results]

    @torch.inference_mode()
    def _decode(self, chunk: list[tuple[int, int]], ids: list[list[int]], params: SamplingParams,
                seeds: list[int]) -> list[Completion]:
        model, tok = self.model, self.tokenizer
        device = next(model.parameters()).device
        # ---- prefill: each distinct prompt once, then one row per sample
        uniq = list(dict.fromkeys(i for i, _ in chunk)) if self.shared_prefill else [i for i, _ in chunk]
        input_ids, mask, pos = left_pad([ids[i] for i in uniq], self.pad_id, device=device)
        cache = new_cache(model)
        out = model(input_ids=input_ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1,
                    **{self._cache_kw: cache})
        logits, cur_pos = out.logits[:, -1, :].float(), pos[:, -1:]
        if len(uniq) < len(chunk):
            where = {i: r for r, i in enumerate(uniq)}
            idx = torch.tensor([where[i] for i, _ in chunk], device=device)
            cache.batch_select_indices(idx)
            logits, mask, cur_pos = logits[idx], mask[idx], cur_pos[idx]

        sampling = params.temperature > 0
        # sample row r's t-th token is drawn with uniforms[r, t], from the row's own generator
        uniforms = torch.stack([
            torch.rand(params.max_new_tokens, device=device,
                       generator=torch.Generator(device=device).manual_seed(sample_seed(seeds[i], k)))
            for i, k in chunk]) if sampling else None
        eos = torch.tensor(self.eos_ids or [-1], device=device)
        stops = params.stop
        window = max([16] + [4 * len(s) + 2 for s in stops])  # tokens: a stop string spans at most ~4/char
        tokens: list[list[int]] = [[] for _ in chunk]
        logps: list[list[float]] = [[] for _ in chunk]
        finish: list[FinishReason | None] = [None] * len(chunk)
        alive = list(range(len(chunk)))  # chunk row of each live batch row
        for step in range(params.max_new_tokens):
            u = uniforms[alive, step] if uniforms is not None else None
            # HF's min_new_tokens / vLLM's min_tokens: EOS cannot be drawn while fewer than min_new_tokens
            # tokens precede it, and a stop string only counts once the sample has min_new_tokens tokens
            if step < params.min_new_tokens and self.eos_ids:
                logits = logits.index_fill(-1, eos, float("-inf"))
            early = step + 1 < params.min_new_tokens
            nxt, lp = _next_tokens(logits, params, u)
            nxt_list, eos_list = nxt.tolist(), torch.isin(nxt, eos).tolist()
            lp_list = lp.tolist() if lp is not None else None
            keep: list[int] = []
            for j, row in enumerate(alive):
                tokens[row].append(nxt_list[j])
                if lp_list is not None:
                    logps[row].append(lp_list[j])
                # a stop string is searched for in a tail window only: decoding stays O(1) per step
                tail = (tok.decode(tokens[row][-window:], skip_special_tokens=True)
                        if stops and not eos_list[j] and not early else "")
                if eos_list[j] or find_stop(tail, stops):
                    finish[row] = "stop"
                else:
                    keep.append(j)
            if step == params.max_new_tokens - 1 or not keep:
                break
            if len(keep) < len(alive):  # drop finished rows from everything the next step reads
                idx = torch.tensor(keep, device=device)
                cache.batch_select_indices(idx)
                mask, nxt, cur_pos = mask[idx], nxt[idx], cur_pos[idx]
                alive = [alive[j] for j in keep]
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
            cur_pos = cur_pos + 1
            out = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=cur_pos, use_cache=True,
                        **{self._cache_kw: cache})
            logits = out.logits[:, -1, :].float()

        eos_set = set(self.eos_ids)
        completions = []
        for r, (i, _) in enumerate(chunk):
            toks = tokens[r]
            ended_on_eos = finish[r] == "stop" and bool(toks) and toks[-1] in eos_set
            text = tok.decode(toks[:-1] if ended_on_eos else toks, skip_special_tokens=True)
            reason: FinishReason = finish[r] or "length"
            if stops and not ended_on_eos:
                text, hit = cut_at_stop(text, stops)
                reason = "stop" if hit else reason
            completions.append(Completion(text, toks, logps[r], reason, list(ids[i])))
        return completions


def _next_tokens(logits: torch.Tensor, params: SamplingParams,
                 uniforms: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Next token per row (greedy, or an inverse-CDF draw with the row's uniform in [0, 1) from the
    temperature/top-p distribution) and, if asked, its log-probability under the
    temperature-scaled distribution (before top-p)."""
    if params.temperature == 0:
        scaled = logits
        nxt = logits.argmax(-1)
    else:
        scaled = logits / params.temperature
        probs = torch.softmax(scaled, dim=-1)
        order = None
        if params.top_p < 1.0:  # keep the smallest prefix of the sorted distribution reaching top_p
            probs, order = probs.sort(dim=-1, descending=True)
            probs = probs * ((probs.cumsum(-1) - probs) < params.top_p)
        if uniforms is None:
            raise ValueError("sampling at temperature > 0 needs one uniform per row")
        cdf = probs.cumsum(-1)
        total = cdf[:, -1]
        u = uniforms.to(cdf.dtype) * total
        u = torch.minimum(u, torch.nextafter(total, torch.zeros_like(total)))  # rounding never reaches the end
        # first index whose cdf exceeds u: zero-probability entries can never be drawn
        nxt = torch.searchsorted(cdf, u[:, None], right=True).squeeze(-1).clamp(max=cdf.shape[-1] - 1)
        if order is not None:
            nxt = order.gather(-1, nxt[:, None]).squeeze(-1)
    if not params.logprobs:
        return nxt, None
    return nxt, scaled.gather(-1, nxt[:, None]).squeeze(-1) - torch.logsumexp(scaled, dim=-1)
