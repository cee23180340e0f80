r"""Held-out masked-span evaluation: exact match (greedy and sampled) and span log-likelihood.

A fixed set of paragraphs that training never sees (the trainer's ``is_heldout`` split) is
masked once, deterministically: the mask of a paragraph depends only on ``(seed, paragraph
id)``, never on the order or on other paragraphs, so the base model, the cold-start checkpoint
and the RL checkpoint are scored on exactly the same items. Metrics per item:

* exact match (strict, as the reward) of the last ``\boxed{}`` in the greedy completion;
* sampled accuracy: the mean exact match of ``k`` completions sampled at the training
  temperature (mean@k), i.e. the expected reward RL maximises, measured on items never trained
  on. Each item's samples are seeded by ``(seed, paragraph id)``, so a model scores the same
  every time, whatever the order or batching;
* log p(hidden span | prompt) teacher-forced after the rendered prompt and the answer prefix
  ``\boxed{``, summed over the span's tokens (per span) and divided by their count (per token).

Each mean comes with its standard error (sample std / √n). Two checkpoints scored on the same
items are compared with :func:`paired_difference`, whose error is the standard error of the
per-item differences — much smaller than either error alone, because the item difficulty is
shared.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from ..game import PredictionRule
from ..masking import Masker, make_masker
from ..progress import Mode as ProgressMode
from ..progress import Progress
from ..prompts import PromptForm, prediction_prompt, render_prompt
from .likelihood import ANSWER_PREFIX, span_token_logprobs

Metric = Literal["accuracy", "sampled_accuracy", "span_logprob", "token_logprob"]
METRICS: tuple[str, ...] = ("accuracy", "sampled_accuracy", "span_logprob", "token_logprob")


def paragraph_rng(seed: int, paragraph_id: str) -> np.random.Generator:
    """A generator that depends only on ``(seed, paragraph id)`` (stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}:{paragraph_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True)
class HeldoutItem:
    """One held-out question: the prompt text exactly as rendered, and the hidden span."""

    paragraph_id: str
    prompt: str  # rendered (chat template / raw) with the prefill, ready for the engine
    answer: str
    prefill: str


def build_heldout_items(
    paragraphs: Iterable[tuple[str, str]],
    masker: Masker,
    tokenizer: Any,
    *,
    form: PromptForm = "chat",
    prefill: str = "",
    seed: int = 0,
    limit: int | None = None,
) -> list[HeldoutItem]:
    """Mask each ``(paragraph id, text)`` with its own seeded generator; skip unmaskable ones."""
    items: list[HeldoutItem] = []
    for pid, text in paragraphs:
        ex = masker(text, paragraph_rng(seed, pid))
        if ex is None:
            continue
        prompt = render_prompt(tokenizer, prediction_prompt(ex), form, prefill)
        items.append(HeldoutItem(pid, prompt, ex.answer, prefill))
        if limit is not None and len(items) >= limit:
            break
    return items


def recipe_heldout_items(recipe: Any, tokenizer: Any, n: int | None = None) -> list[HeldoutItem]:
    """The held-out items a recipe is judged on: the first ``n`` (default ``recipe.heldout_n``)
    held-out paragraphs its held-out masker can use, each masked by ``(recipe.seed, paragraph id)``."""
    from .data import iter_heldout_paragraphs
    masker = make_masker(recipe.heldout_masker, recipe.heldout_masker_kwargs)
    paras = ((p.id, p.text) for p in iter_heldout_paragraphs(recipe.corpus))
    return build_heldout_items(paras, masker, tokenizer, form=recipe.prompt_form, prefill=recipe.prefill,
                               seed=recipe.seed, limit=n or recipe.heldout_n)


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and its standard error (sample std with n−1, over √n; 0 for fewer than 2 values)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return float("nan"), float("nan")
    if x.size < 2:
        return float(x.mean()), 0.0
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


@dataclass(frozen=True)
class HeldoutResult:
    """Per-item scores plus their means and standard errors."""

    n: int
    accuracy: float
    accuracy_se: float
    span_logprob: float  # mean over items of log p(span), nats
    span_logprob_se: float
    token_logprob: float  # mean over items of log p(span) / #tokens, nats per token
    token_logprob_se: float
    correct: tuple[float, ...]
    span_logprobs: tuple[float, ...]
    token_logprobs: tuple[float, ...]
    sampled_accuracy: float = float("nan")  # mean over items of mean@k exact match (nan when k = 0)
    sampled_accuracy_se: float = float("nan")
    samples_per_item: int = 0
    sampled_correct: tuple[float, ...] = ()

    def summary(self) -> dict[str, float]:
        """The scalar fields (for JSON and printing); no sampled-accuracy fields (NaN) when k = 0."""
        d = {k: v for k, v in asdict(self).items() if not isinstance(v, tuple)}
        if not self.samples_per_item:
            for k in ("sampled_accuracy", "sampled_accuracy_se", "samples_per_item"):
                d.pop(k)
        return d

    def per_item(self, metric: Metric) -> tuple[float, ...]:
        """The per-item values of one metric."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        if metric == "sampled_accuracy" and not self.samples_per_item:
            raise ValueError("this result has no sampled accuracy (evaluated with samples=0)")
        return {"accuracy": self.correct, "sampled_accuracy": self.sampled_correct, "span_logprob": self.span_logprobs,
                "token_logprob": self.token_logprobs}[metric]


def evaluate_heldout(
    model: Any,
    tokenizer: Any,
    items: Sequence[HeldoutItem],
    *,
    max_new_tokens: int = 16,
    batch_size: int = 16,
    answer_prefix: str = ANSWER_PREFIX,
    normalized: bool = False,
    samples: int = 0,
    temperature: float = 1.0,
    stop: Sequence[str] = (),
    seed: int = 0,
    progress: ProgressMode = "off",
    log: Callable[[str], None] | None = None,
) -> HeldoutResult:
    r"""Score ``model`` on ``items``: greedy exact match, teacher-forced span log-likelihood and,
    with ``samples`` = k > 0, mean@k exact match of completions sampled at ``temperature``
    (both decodings with ``max_new_tokens`` and ``stop`` as in training; sampled item ``i`` is
    seeded by ``(seed, its paragraph id)``, the global RNG untouched). All generation runs on the transformers engine.
    ``progress``: see :class:`pretrainzero.progress.Progress` (``log`` receives its lines).

    The likelihood context is the rendered prompt followed by ``answer_prefix`` (unless the
    prompt was already prefilled with it), i.e. the probability of writing the span directly,
    with no reasoning. That is what the model's greedy answer depends on when the recipe
    prefills ``\boxed{``, and a smooth proxy for it otherwise.
    """
    from ..engines import SamplingParams
    from ..engines.hf import TransformersEngine

    if not items:
        raise ValueError("no held-out items")
    if samples > 0 and temperature <= 0:
        raise ValueError(f"sampled accuracy needs temperature > 0, got {temperature}")
    prompts = [it.prompt for it in items]
    engine = TransformersEngine(model, tokenizer, batch_size=batch_size)
    with Progress(len(items) * (2 + samples), "held-out", mode=progress, log=log, unit="gen") as bar:
        greedy = engine.generate(prompts, 1, SamplingParams(temperature=0.0, max_new_tokens=max_new_tokens,
                                                            stop=tuple(stop)), progress=bar.update)
        correct = [_score(it, [g[0].text], normalized) for it, g in zip(items, greedy, strict=True)]
        contexts = [it.prompt if it.prompt.endswith(answer_prefix) else it.prompt + answer_prefix for it in items]
        toks = span_token_logprobs(model, tokenizer, contexts, [it.answer.strip() for it in items],
                                   batch_size=batch_size, progress=bar.update)
        sampled: list[float] = []
        if samples > 0:
            params = SamplingParams(temperature=temperature, max_new_tokens=max_new_tokens, stop=tuple(stop))
            sampler = TransformersEngine(model, tokenizer, batch_size=max(batch_size, 32))  # rows = items x k
            groups = sampler.generate(prompts, samples, params, [_item_seed(seed, it.paragraph_id) for it in items],
                                     progress=bar.update)
            sampled = [_score(it, [c.text for c in g], normalized) for it, g in zip(items, groups, strict=True)]
    span_lp = [math.fsum(t) for t in toks]
    tok_lp = [math.fsum(t) / len(t) for t in toks]
    acc, acc_se = mean_se(correct)
    slp, slp_se = mean_se(span_lp)
    tlp, tlp_se = mean_se(tok_lp)
    sacc, sacc_se = mean_se(sampled) if sampled else (float("nan"), float("nan"))
    return HeldoutResult(len(items), acc, acc_se, slp, slp_se, tlp, tlp_se, tuple(correct), tuple(span_lp),
                         tuple(tok_lp), sacc, sacc_se, samples, tuple(sampled))


def _score(item: HeldoutItem, texts: Sequence[str], normalized: bool) -> float:
    """Fraction of ``texts`` whose last ``\\boxed{}`` (after the item's prefill) matches exactly."""
    rule = PredictionRule(normalized=normalized)
    return sum(rule.score(item.prefill + t, item.answer) for t in texts) / len(texts)


def _item_seed(seed: int, paragraph_id: str) -> int:
    """The sampling seed of one item: depends only on ``(seed, paragraph id)``, like its mask."""
    return int(paragraph_rng(seed, paragraph_id).integers(0, 2**63 - 1))


def paired_difference(after: HeldoutResult, before: HeldoutResult,
                      metric: Metric = "span_logprob") -> tuple[float, float]:
    """Mean and standard error of ``after − before`` over the same items (paired)."""
    a, b = after.per_item(metric), before.per_item(metric)
    if len(a) != len(b):
        raise ValueError(f"results have {len(a)} and {len(b)} items: not the same held-out set")
    return mean_se([x - y for x, y in zip(a, b, strict=True)])
