"""One policy update on a rollout batch: old log-probs, mini-batches, micro-batches, the clip.

What :func:`policy_update` does with the batch of one training step:

1. Samples are sorted by length (less padding), the samples of one prompt adjacent (they share one
   pass over that prompt). Advantages are computed once, over the whole batch.
2. The batch is split into ``mini_batches`` = k parts of whole prompts (round robin over the
   prompts in that order, so every part holds every length). Each part is one optimizer step:
   forward and backward over micro-batches of ``micro_batch_size`` sequences (gradients
   accumulate, each micro-batch's loss weighted so that the sum is the part's loss), gradient-norm
   clipping, AdamW. The learning-rate schedule counts rollout batches, not optimizer steps.
3. The "old" log-probabilities in the ratio ``exp(new_logp - old_logp)`` are the rollout policy's:

   * k = 1: the update's own forward, detached. The ratio is exactly 1 and any clip is inactive
     (the gradient is that of ``adv * new_logp``); this saves a forward pass.
   * k > 1: the sampler's log-probabilities when every sample has them, otherwise one extra no-grad
     forward over the batch before the first step. The first part is then on-policy (ratio ~1)
     and later parts see the policy moved by the earlier steps, so the clip acts.

4. Metrics: ``clip_frac`` (action tokens whose gradient the clip removes: ratio above 1 + eps_high
   with a positive advantage, or below 1 - eps_low with a negative one; for algorithms with
   ``eps_low``/``eps_high``), and ``logprob_gap``: the mean |trainer log p - sampler log p| over
   action tokens, from every forward made with the rollout weights (before the first step). Both
   sides are log-probabilities of the *tempered* distribution: the sampler records
   log softmax(logits / T) and the trainer divides its logits by the same T (T = 0, greedy: no
   scaling on either side); top-p truncation is not part of either, so the gap is like for like
   only when the sampler reports pre-top-p log-probabilities (see each sampler).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .step import Sample

ForwardContext = Callable[[], contextlib.AbstractContextManager[Any]]


@dataclass(frozen=True)
class UpdateConfig:
    micro_batch_size: int = 8
    mini_batches: int = 1
    temperature: float = 1.0
    grad_clip: float = 1.0
    share_prompts: bool = True


@dataclass
class UpdateResult:
    skipped: bool  # a non-finite loss or gradient stopped the update (steps already taken stay)
    optimizer_steps: int
    loss: float  # mean over the mini-batches that ran
    grad_norm: float  # of the last mini-batch
    entropy: float | None  # mean per-token entropy of the trained policy
    train_tokens: int  # action tokens seen by the first pass over the batch
    clip_frac: float | None
    logprob_gap: float | None
    old_logprobs: str  # "current" (k = 1), "sampler" or "recomputed"


def token_logprobs(
    model: Any, samples: list[Sample], pad_id: int, temperature: float, *, share_prompts: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-probabilities ``[B, C]`` of each sample's completion tokens, the action mask, and the
    per-token entropy (no grad), from one forward pass.

    Layout: prompts left-padded and completions right-padded to the micro-batch maxima, so every
    completion starts at the same column and only its ``C + 1`` logit rows are computed. With
    ``share_prompts``, samples that repeat a prompt (the G samples of one group) run that prompt
    through the model once; its key/value cache is indexed per sample and the completions run on
    top of it. Gradients flow through the shared cache, so the result equals the plain pass.
    """
    device = next(model.parameters()).device
    C = max(len(s.completion_ids) for s in samples)
    uniq: dict[tuple[int, ...], int] = {}
    index = [uniq.setdefault(tuple(s.prompt_ids), len(uniq)) for s in samples]
    if share_prompts and len(uniq) < len(samples) and min(len(p) for p in uniq) > 1:
        logits, comp, mask = _shared_prompt_logits(model, samples, list(uniq), index, pad_id, C, device)
    else:
        from ..engines.padding import left_pad

        p_ids, p_att, p_pos = left_pad([s.prompt_ids for s in samples], pad_id)
        c_ids, c_att = _right_padded([s.completion_ids for s in samples], pad_id, C)
        P = p_ids.shape[1]
        ids, attn = torch.cat([p_ids, c_ids], dim=1), torch.cat([p_att, c_att], dim=1)
        pos = torch.cat([p_pos, p_att.sum(-1, keepdim=True) + torch.arange(C)], dim=1)  # completions continue
        ids, attn, pos = ids.to(device), attn.to(device), pos.to(device)
        out = model(input_ids=ids, attention_mask=attn, position_ids=pos, logits_to_keep=C + 1, use_cache=False)
        logits, comp, mask = out.logits[:, :-1], ids[:, P:], attn[:, P:]
    logits = logits.float()
    if temperature > 0 and temperature != 1.0:
        logits = logits / temperature
    logp, entropy = TokenLogProb.apply(logits, comp)
    return logp, mask.to(logp.dtype), entropy


class TokenLogProb(torch.autograd.Function):
    """``(log softmax(logits)[..., token], entropy of softmax(logits))`` over the last dim, the
    entropy without gradient.

    The same values and gradients as ``logits.gather(token) - logits.logsumexp(-1)``, computed
    with two vocabulary-sized temporaries instead of about eight: the forward keeps only the
    logits and their logsumexp, the backward rebuilds the softmax once, in place
    (d logp / d logits = onehot(token) - softmax). Over a 49k vocabulary each temporary is
    ~100 MB per micro-batch, a fresh allocation (page faults on CPU) plus a pass over memory.
    """

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lse = torch.logsumexp(logits, dim=-1, keepdim=True)
        probs = torch.sub(logits, lse).exp_()
        entropy = lse.squeeze(-1) - torch.linalg.vecdot(probs, logits)
        del probs
        ctx.save_for_backward(logits, tokens, lse)
        ctx.mark_non_differentiable(entropy)
        return logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) - lse.squeeze(-1), entropy

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor, _: torch.Tensor) -> tuple[torch.Tensor, None]:
        logits, tokens, lse = ctx.saved_tensors
        grad_logits = torch.sub(logits, lse).exp_().mul_(-grad.unsqueeze(-1))
        return grad_logits.scatter_add_(-1, tokens.unsqueeze(-1), grad.unsqueeze(-1)), None


def _shared_prompt_logits(
    model: Any, samples: list[Sample], prompts: list[tuple[int, ...]], index: list[int], pad_id: int, C: int,
    device: Any,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    from ..engines.hf import cache_kwarg, new_cache
    from ..engines.padding import left_pad

    # pass 1: each distinct prompt minus its last token, left-padded, once (with grad); only its KV
    # cache is used, so the vocabulary projection runs on one position, not the whole prompt
    ids1, att1, pos1 = left_pad([p[:-1] for p in prompts], pad_id, device=device)
    cache = new_cache(model)  # filled in place by the forward pass
    model(input_ids=ids1, attention_mask=att1, position_ids=pos1, use_cache=True, logits_to_keep=1,
          **{cache_kwarg(model): cache})
    cache.batch_select_indices(torch.tensor(index, device=device))  # one row per sample (differentiable)
    # pass 2: last prompt token + completion (right-padded) on top of the shared cache
    ids2, att2 = _right_padded([[s.prompt_ids[-1], *s.completion_ids[:-1]] for s in samples], pad_id, C)
    comp, _ = _right_padded([s.completion_ids for s in samples], pad_id, C)
    start = torch.tensor([len(s.prompt_ids) - 1 for s in samples])
    pos2 = start[:, None] + torch.arange(C)[None, :]
    attn = torch.cat([att1[index].cpu(), att2], dim=1)
    logits = model(input_ids=ids2.to(device), attention_mask=attn.to(device), position_ids=pos2.to(device),
                   use_cache=True, **{cache_kwarg(model): cache}).logits
    return logits, comp.to(device), att2.to(device)


def make_adamw(params: list[torch.Tensor], lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with torch's fused kernel (one pass over each tensor, no temporaries; same update up to
    float rounding) where it exists for the weights' device, else the default implementation."""
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused or None)


def _right_padded(rows: list[list[int]], pad_id: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Completion rows right-padded to ``width`` (they start in one column), and their attention mask."""
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    att = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
        att[r, : len(row)] = 1
    return ids, att


def split_mini_batches(samples: list[Sample], k: int) -> list[list[Sample]]:
    """``k`` parts of whole prompts, round robin over the distinct prompts in sample order."""
    order: dict[tuple[int, ...], int] = {}
    parts: list[list[Sample]] = [[] for _ in range(k)]
    for s in samples:
        parts[order.setdefault(tuple(s.prompt_ids), len(order)) % k].append(s)
    return [p for p in parts if p]


def _padded(rows: list[list[float]] | list[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(like.shape, dtype=torch.float32)
    for r, row in enumerate(rows):
        t = torch.as_tensor(row, dtype=torch.float32)
        out[r, : len(t)] = t
    return out.to(like.device)


def _clip_mask(ratio: torch.Tensor, adv: torch.Tensor, algo: Any) -> torch.Tensor | None:
    """Action tokens whose gradient the PPO clip removes (None when the algorithm has no clip)."""
    lo, hi = getattr(algo, "eps_low", None), getattr(algo, "eps_high", None)
    if lo is None or hi is None:
        return None
    a = adv.unsqueeze(-1).expand_as(ratio) if adv.dim() == 1 else adv
    return ((ratio > 1 + hi) & (a > 0)) | ((ratio < 1 - lo) & (a < 0))


def policy_update(
    model: Any,
    optimizer: torch.optim.Optimizer,
    algo: Any,
    samples: list[Sample],
    pad_id: int,
    config: UpdateConfig,
    *,
    forward_context: ForwardContext = contextlib.nullcontext,
) -> UpdateResult:
    """Update ``model`` on one rollout batch as described in the module docstring.

    ``forward_context`` wraps every forward (autocast for mixed precision, layer checkpointing).
    Gradients are zeroed before each optimizer step and after the last one.
    """
    cfg = config
    params = [p for group in optimizer.param_groups for p in group["params"]]
    token_level = getattr(algo, "aggregation", "sequence") == "token"
    samples = sorted(samples, key=lambda s: (len(s.prompt_ids), s.prompt_ids, len(s.completion_ids)))
    rewards = torch.tensor([s.reward for s in samples], dtype=torch.float32)
    adv_of = dict(zip(map(id, samples), algo.advantages(rewards, torch.tensor([s.group for s in samples])),
                      strict=True))
    micro = lambda part: [part[b : b + cfg.micro_batch_size] for b in range(0, len(part), cfg.micro_batch_size)]

    # old log-probs of the rollout policy (k > 1 only)
    old_of: dict[int, torch.Tensor] = {}
    has_sampler_logp = all(len(s.logprobs) == len(s.completion_ids) for s in samples)
    source = "current" if cfg.mini_batches == 1 else "sampler" if has_sampler_logp else "recomputed"
    if source == "sampler":
        old_of = {id(s): torch.tensor(s.logprobs, dtype=torch.float32) for s in samples}
    gap_sum, gap_tok = 0.0, 0
    if source == "recomputed":
        with torch.no_grad(), forward_context():
            for mb in micro(samples):
                logp, mask, _ = token_logprobs(model, mb, pad_id, cfg.temperature, share_prompts=cfg.share_prompts)
                for r, s in enumerate(mb):
                    old_of[id(s)] = logp[r, : len(s.completion_ids)].float().cpu()

    skipped, steps, losses, grad_norm = False, 0, [], float("nan")
    ent_sum, n_tok, clip_sum, clip_tok = 0.0, 0, 0.0, 0
    for part in split_mini_batches(samples, cfg.mini_batches):
        part_tok = sum(len(s.completion_ids) for s in part)
        part_loss = 0.0
        for mb in micro(part):
            with forward_context():
                logp, mask, ent = token_logprobs(model, mb, pad_id, cfg.temperature, share_prompts=cfg.share_prompts)
            adv = torch.stack([adv_of[id(s)] for s in mb]).to(logp.device, logp.dtype)
            old = logp.detach() if source == "current" else _padded([old_of[id(s)] for s in mb], logp)
            loss = algo.loss(logp, old, adv, mask)
            mb_tok = int(mask.sum())
            loss = loss * (mb_tok / part_tok if token_level else len(mb) / len(part))
            if not torch.isfinite(loss):
                skipped = True
                break
            loss.backward()
            part_loss += loss.item()
            with torch.no_grad():
                if steps == 0:  # the first pass over the batch: entropy, and the gap at rollout weights
                    ent_sum += float((ent * mask).sum())
                    n_tok += mb_tok
                    if has_sampler_logp:
                        sampler = _padded([s.logprobs for s in mb], logp)
                        gap_sum += float(((logp.detach() - sampler).abs() * mask).sum())
                        gap_tok += mb_tok
                clipped = _clip_mask(torch.exp(logp.detach() - old), adv, algo)
                if clipped is not None:
                    clip_sum += float((clipped * mask).sum())
                    clip_tok += mb_tok
        if not skipped:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip or float("inf")))
            skipped = not math.isfinite(grad_norm)
        if skipped:
            optimizer.zero_grad(set_to_none=True)
            break
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        steps += 1
        losses.append(part_loss)
    return UpdateResult(
        skipped=skipped, optimizer_steps=steps, loss=sum(losses) / len(losses) if losses else float("nan"),
        grad_norm=grad_norm, entropy=ent_sum / n_tok if n_tok else None, train_tokens=n_tok,
        clip_frac=clip_sum / clip_tok if clip_tok else None, logprob_gap=gap_sum / gap_tok if gap_tok else None,
        old_logprobs=source,
    )
