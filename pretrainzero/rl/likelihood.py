r"""Span log-likelihoods and a dense RLP-style predictor reward.

Two uses of one primitive, :func:`span_token_logprobs` (teacher-forced log-probabilities of a
span's tokens after a context):

* the held-out metric (:mod:`pretrainzero.rl.heldout`): mean log p(hidden span | masked prompt);
* :class:`LikelihoodReward`, a dense predictor reward in the style of RLP (paper notes §8.2)::

      r(c) = log p_θ(span | prompt, c, "\boxed{") − log p_b(span | prompt, "\boxed{")

  where ``c`` is the reasoning the predictor wrote (its completion up to its last ``\boxed{``)
  and ``p_b`` is the baseline: the same model without reasoning (``baseline="no_think"``), a
  slowly updated EMA copy of it (``baseline="ema"``, RLP's no-think teacher, φ ← τφ + (1−τ)θ),
  or nothing (``baseline="none"``, the raw log-likelihood). The reward is a constant for the
  policy gradient (computed under ``no_grad``), as in RLP.

Why it helps tiny models: exact match is 0 for almost every sample of SmolLM2-135M, so groups
have no variance and DAPO filters everything; the log-likelihood differs between any two
reasonings, so every group carries signal. Note that the baseline term is the same for all G
predictions of one mask, so it cancels in group-relative advantages (GRPO, DAPO, RLOO); it only
matters for algorithms without a group baseline (REINFORCE) and for reading the logged reward
(> 0 means the reasoning made the span more likely). The reward needs a reasoning budget: with
the answer prefix prefilled there is no reasoning, and every sample of a group scores the same.

Contract for the trainer (predictor reward hook): ``reward(prompts, completions, answers)``
with ``prompts`` the rendered prompt texts exactly as fed to the sampler (chat template and any
prefill included), ``completions`` the sampled texts (without the prompt) and ``answers`` the
hidden spans; returns one float per completion. Call ``reward.after_step(model)`` after each
optimizer step (updates the EMA copy; a no-op for the other baselines).

torch is imported lazily so the module can be imported without it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

ANSWER_PREFIX = "\\boxed{"

Baseline = Literal["no_think", "ema", "none"]
BASELINES: tuple[str, ...] = ("no_think", "ema", "none")


def _span_ids(tokenizer: Any, context: str, span: str) -> tuple[list[int], list[int]]:
    """Token ids of ``context`` and of ``span`` following it.

    Tokenised the lm-eval way: the span's ids are those of ``context + span`` past the
    context's ids, so a merge across the boundary is scored as the model would see it; if the
    joint tokenisation does not extend the context's (a merge swallowed the boundary), the two
    parts are tokenised separately.
    """
    ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
    whole = tokenizer(context + span, add_special_tokens=False)["input_ids"]
    if whole[: len(ctx)] == ctx and len(whole) > len(ctx):
        return ctx, whole[len(ctx) :]
    return ctx, tokenizer(span, add_special_tokens=False)["input_ids"]


def span_token_logprobs(
    model: Any,
    tokenizer: Any,
    contexts: Sequence[str],
    spans: Sequence[str],
    *,
    batch_size: int = 8,
    max_context_tokens: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[list[float]]:
    """Per-token log p(span | context) for each pair, teacher-forced, without gradients.

    Rows are left-padded so every span ends at the last position; only the logits of the
    span positions are computed (``logits_to_keep``), which keeps memory at batch × span
    length × vocab instead of batch × sequence × vocab. ``max_context_tokens`` keeps the
    context's last tokens only; ``progress`` is called with the number of pairs scored.
    """
    import torch

    from ..engines.padding import left_pad

    if len(contexts) != len(spans):
        raise ValueError(f"got {len(contexts)} contexts and {len(spans)} spans")
    pairs = []
    for c, s in zip(contexts, spans, strict=True):
        ctx, sp = _span_ids(tokenizer, c, s)
        if not sp:
            raise ValueError(f"span {s!r} has no tokens")
        if max_context_tokens is not None:
            ctx = ctx[-max_context_tokens:]
        pairs.append((ctx, sp))
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[list[float]] = []
    was_training = model.training
    model.eval()
    try:
        for b in range(0, len(pairs), batch_size):
            chunk = pairs[b : b + batch_size]
            rows = [c + s for c, s in chunk]
            keep = max(len(s) for _, s in chunk) + 1
            ids, att, pos = left_pad(rows, pad, device=device)  # every span ends in the last column
            with torch.no_grad():
                logits = model(input_ids=ids, attention_mask=att, position_ids=pos,
                               logits_to_keep=keep).logits[:, :-1].float()  # position j predicts token width-keep+1+j
            logp = torch.log_softmax(logits, dim=-1)
            for i, (_, span_ids) in enumerate(chunk):
                tgt = torch.tensor(span_ids, device=logp.device)
                rowlp = logp[i, keep - 1 - len(span_ids) :]
                out.append(rowlp.gather(-1, tgt[:, None]).squeeze(-1).tolist())
            if progress is not None:
                progress(len(chunk))
    finally:
        model.train(was_training)
    return out


def span_logprob(
    model: Any, tokenizer: Any, contexts: Sequence[str], spans: Sequence[str], *, batch_size: int = 8
) -> list[float]:
    """Sum of the span's token log-probabilities after each context (log p(span | context))."""
    return [math.fsum(t) for t in span_token_logprobs(model, tokenizer, contexts, spans, batch_size=batch_size)]


def reasoning_of(completion: str, answer_prefix: str = ANSWER_PREFIX) -> str:
    r"""The reasoning part of a completion: everything before its last ``\boxed{``.

    A completion that never boxes is all reasoning (it was cut by the length limit).
    """
    i = completion.rfind(answer_prefix)
    return completion if i < 0 else completion[:i]


@dataclass(frozen=True)
class LikelihoodRewardConfig:
    """Settings of :class:`LikelihoodReward`.

    ``scale="sum"`` rewards log p of the whole span (RLP scores one token, where sum = mean);
    ``"mean"`` divides by the span's token count so long spans do not dominate. ``clip``
    bounds the reward to [-clip, clip] (None: unbounded).
    """

    baseline: Baseline = "no_think"
    ema_decay: float = 0.999
    scale: Literal["sum", "mean"] = "sum"
    clip: float | None = None
    answer_prefix: str = ANSWER_PREFIX
    batch_size: int = 8

    def __post_init__(self) -> None:
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {self.baseline!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.scale not in ("sum", "mean"):
            raise ValueError(f"scale must be sum or mean, got {self.scale!r}")
        if self.clip is not None and self.clip <= 0:
            raise ValueError(f"clip must be positive or None, got {self.clip}")


class LikelihoodReward:
    """Dense RLP-style information-gain reward for the predictor role (see module docstring).

    Holds the policy model (and an EMA copy when ``baseline="ema"``), so it is a small
    stateful object rather than a pure function.
    """

    def __init__(self, model: Any, tokenizer: Any, config: LikelihoodRewardConfig | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config = config or LikelihoodRewardConfig()
        self.ema = None
        if self.config.baseline == "ema":
            self.ema = copy.deepcopy(model).eval()
            for p in self.ema.parameters():
                p.requires_grad_(False)

    def _score(self, model: Any, contexts: list[str], spans: Sequence[str]) -> list[float]:
        toks = span_token_logprobs(model, self.tokenizer, contexts, spans, batch_size=self.config.batch_size)
        if self.config.scale == "mean":
            return [math.fsum(t) / len(t) for t in toks]
        return [math.fsum(t) for t in toks]

    def _base_context(self, prompt: str) -> str:
        # a prompt rendered with the answer prefix already prefilled must not get it twice
        ap = self.config.answer_prefix
        return prompt if prompt.endswith(ap) else prompt + ap

    def __call__(self, prompts: Sequence[str], completions: Sequence[str], answers: Sequence[str]) -> list[float]:
        if not len(prompts) == len(completions) == len(answers):
            raise ValueError("prompts, completions and answers must have the same length")
        cfg = self.config
        # a prompt that ends with the answer prefix was prefilled: the completion is the answer
        # itself and there is no reasoning to score (every sample of a group gets the same reward)
        ctx = [p if p.endswith(cfg.answer_prefix) else self._base_context(p + reasoning_of(c, cfg.answer_prefix))
               for p, c in zip(prompts, completions, strict=True)]
        spans = [a.strip() for a in answers]
        rewards = self._score(self.model, ctx, spans)
        if cfg.baseline != "none":
            # the baseline depends only on (prompt, answer): score each distinct pair once
            keys = list(dict.fromkeys(zip(prompts, spans, strict=True)))
            base_model = self.ema if self.ema is not None else self.model
            base_scores = self._score(base_model, [self._base_context(p) for p, _ in keys], [s for _, s in keys])
            base = dict(zip(keys, base_scores, strict=True))
            rewards = [r - base[(p, s)] for r, p, s in zip(rewards, prompts, spans, strict=True)]
        if cfg.clip is not None:
            rewards = [max(-cfg.clip, min(cfg.clip, r)) for r in rewards]
        return rewards

    def after_step(self, model: Any | None = None) -> None:
        """EMA update φ ← τφ + (1−τ)θ after an optimizer step (no-op without an EMA baseline)."""
        if self.ema is None:
            return
        import torch

        tau = self.config.ema_decay
        with torch.no_grad():
            for pe, p in zip(self.ema.parameters(), (model or self.model).parameters(), strict=True):
                pe.mul_(tau).add_(p.detach().to(pe.dtype), alpha=1.0 - tau)
