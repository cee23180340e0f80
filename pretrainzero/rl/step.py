r"""The PretrainZero step, engine-agnostic: paragraphs in, one two-role training batch out.

One step of the paper's min-max game (Sec. 3.2-3.3), in order:

1. Generator rollouts: each of the P paragraphs is shown with the mask-generation prompt and the
   policy samples G_gen completions, each proposing a span inside ``\mask{}``.
2. The last ``\mask{}`` of each completion is validated with the paper's rule
   (:func:`~pretrainzero.masking.apply_mask`: non-empty, verbatim, fewer than 8 occurrences);
   invalid masks get generator reward 0 and no predictions.
3. Predictor rollouts: every valid masked paragraph is shown with the prediction prompt and the
   policy samples G_pred completions, each answering inside ``\boxed{}``.
4. Rewards: predictor = exact match with the hidden span (or a pluggable dense reward);
   generator = a shape of its G_pred predictions' accuracy (paper: 1 - acc, 0 if acc = 0).
5. Groups: the G_gen masks of one paragraph form a generator group; the G_pred predictions of one
   mask form a predictor group. Groups whose rewards are all equal carry no signal for
   group-relative advantages and are dropped (DAPO dynamic-sampling filter).
6. Everything left goes into one batch holding both roles; the learner computes advantages per
   group and takes one optimiser step.

``random-rlpt`` and ``rpt`` skip steps 1-2 (random spans / next word, predictor only). Nothing
here imports torch: the embedded trainer and the OpenRLHF backend both drive this function.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..engines import Completion, Engine, SamplingParams
from ..game import PredictionRule, parse_mask
from ..masking import InvalidMask, MaskedExample, Masker, NextTokenMasker, RandomSpanMasker
from ..prompts import PromptForm, generation_prompt, prediction_prompt, render_prompt
from ..rewards import generator_reward
from ..types import Paragraph

Role = Literal["generator", "predictor"]
Mode = Literal["pretrainzero", "random-rlpt", "rpt"]

# A dense or custom predictor reward: (rendered prompts, completion texts, hidden answers) -> rewards.
# Completion texts exclude the prompt's prefill; the rendered prompt ends with it.
PredictorRewardFn = Callable[[Sequence[str], Sequence[str], Sequence[str]], list[float]]

# Predictor training rewards by name. "likelihood" is the dense RLP-style reward of
# pretrainzero.rl.likelihood; a "module:factory" path gives factory(model, tokenizer, **kwargs).
PREDICTOR_REWARDS: tuple[str, ...] = ("exact", "likelihood")

@dataclass(frozen=True)
class StepConfig:
    """The knobs of one step (built from a recipe by :meth:`from_recipe`)."""

    g_gen: int = 8
    g_pred: int = 8
    prompt_form: PromptForm = "chat"
    prefill: str = ""
    mask_prefill: str = ""
    mask_rule: Literal["default", "onemask", "words"] = "default"
    generator_shape: str = "paper"
    normalized_match: bool = False
    filter_groups: bool = True
    max_prompt_tokens: int = 1536
    random_masks_per_paragraph: int = 1
    gen_params: SamplingParams = field(default_factory=lambda: SamplingParams(max_new_tokens=4096, logprobs=True))
    pred_params: SamplingParams = field(default_factory=lambda: SamplingParams(max_new_tokens=4096, logprobs=True))

    @classmethod
    def from_recipe(cls, recipe: Any) -> StepConfig:
        common = {"temperature": recipe.temperature, "top_p": recipe.top_p, "stop": tuple(recipe.stop),
                  "logprobs": True}
        return cls(
            g_gen=recipe.g_gen, g_pred=recipe.g_pred, prompt_form=recipe.prompt_form, prefill=recipe.prefill,
            mask_prefill=recipe.mask_prefill, mask_rule=recipe.mask_rule,
            generator_shape=recipe.generator_reward, normalized_match=recipe.normalized_match,
            filter_groups=recipe.filter_groups, max_prompt_tokens=recipe.max_prompt_tokens,
            random_masks_per_paragraph=recipe.random_masks_per_paragraph,
            gen_params=SamplingParams(max_new_tokens=recipe.mask_max_tokens, **common),
            pred_params=SamplingParams(max_new_tokens=recipe.max_response_tokens, **common),
        )


@dataclass
class Sample:
    """One sampled sequence ready for the learner."""

    role: Role
    group: int  # unique within the batch; advantages are computed per group
    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]  # engine log-probabilities of completion_ids (old policy)
    reward: float
    finish_reason: str


@dataclass
class RolloutBatch:
    """The step's output: both roles' samples (kept groups only) and step statistics."""

    samples: list[Sample]
    stats: dict[str, float]
    masks: list[dict[str, Any]] = field(default_factory=list)  # a few examples for the run report

    @property
    def rewards(self) -> list[float]:
        return [s.reward for s in self.samples]

    @property
    def group_ids(self) -> list[int]:
        return [s.group for s in self.samples]

    @property
    def num_tokens(self) -> int:
        return sum(len(s.completion_ids) for s in self.samples)


def exact_match_rewards(
    prompts: Sequence[str], completions: Sequence[Completion], answers: Sequence[str], *,
    prefill: str = "", normalized: bool = False,
) -> list[float]:
    """Paper Eq. 8 for a batch: exact match of the last ``\\boxed{}`` (prefill included)."""
    rule = PredictionRule(normalized=normalized)
    return [rule.score(prefill + c.text, a) for c, a in zip(completions, answers, strict=True)]


def _token_len(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _seeds(rng: np.random.Generator, n: int) -> list[int]:
    """One engine seed per prompt from the step's generator: sampling depends only on (seed, step)."""
    return [int(x) for x in rng.integers(0, 2**63 - 1, size=n)]


def _mean(xs: Sequence[float]) -> float:
    return float(np.mean(xs)) if len(xs) else math.nan  # no data is NaN (null in metrics.jsonl), never 0


def pretrainzero_step(
    engine: Engine,
    tokenizer: Any,
    paragraphs: Sequence[Paragraph],
    config: StepConfig,
    rng: np.random.Generator,
    *,
    mode: Mode = "pretrainzero",
    masker: Masker | None = None,
    predictor_reward_fn: PredictorRewardFn | None = None,
) -> RolloutBatch:
    """Run one step of the game (see the module docstring) and return the two-role batch.

    ``masker`` is used by ``random-rlpt`` (default :class:`RandomSpanMasker`) and ``rpt``
    (default :class:`NextTokenMasker`). ``predictor_reward_fn`` replaces the exact-match
    training reward of the predictor; accuracies and generator rewards always use exact match.
    """
    cfg = config
    stats: dict[str, float] = {}
    t0 = time.perf_counter()
    render = lambda prompt, prefill: render_prompt(tokenizer, prompt, cfg.prompt_form, prefill)

    # ---- 1-2. masks: from the generator (active masking) or from a fixed masker
    examples: list[tuple[int, MaskedExample]] = []  # (paragraph index, example) for prediction
    gen_rows: list[tuple[int, Completion, MaskedExample | InvalidMask]] = []
    too_long = 0
    if mode == "pretrainzero":
        gen_prompts, gen_idx = [], []
        for i, p in enumerate(paragraphs):
            text = render(generation_prompt(p.text), cfg.mask_prefill)
            if _token_len(tokenizer, text) > cfg.max_prompt_tokens:
                too_long += 1
                continue
            gen_prompts.append(text)
            gen_idx.append(i)
        outs = (engine.generate(gen_prompts, cfg.g_gen, cfg.gen_params, _seeds(rng, len(gen_prompts)))
                if gen_prompts else [])
        for i, completions in zip(gen_idx, outs, strict=True):
            for c in completions:
                ex = parse_mask(paragraphs[i].text, cfg.mask_prefill + c.text, rule=cfg.mask_rule, rng=rng)
                gen_rows.append((i, c, ex))
                if isinstance(ex, MaskedExample):
                    examples.append((i, ex))
    else:
        if masker is None:
            masker = NextTokenMasker() if mode == "rpt" else RandomSpanMasker()
        for i, p in enumerate(paragraphs):
            for _ in range(cfg.random_masks_per_paragraph):
                masked = masker(p.text, rng)
                if masked is not None:
                    examples.append((i, masked))
    t_gen = time.perf_counter() - t0

    # ---- 3. prediction rollouts for every valid mask
    pred_prompts, kept = [], []
    for k, (_i, ex) in enumerate(examples):
        text = render(prediction_prompt(ex), cfg.prefill)
        if _token_len(tokenizer, text) > cfg.max_prompt_tokens:
            too_long += 1
            continue
        pred_prompts.append(text)
        kept.append(k)
    pred_outs = (engine.generate(pred_prompts, cfg.g_pred, cfg.pred_params, _seeds(rng, len(pred_prompts)))
                 if pred_prompts else [])
    t_pred = time.perf_counter() - t0 - t_gen

    # ---- 4. rewards
    flat_prompts = [pr for pr, outs in zip(pred_prompts, pred_outs, strict=True) for _ in outs]
    flat_comps = [c for outs in pred_outs for c in outs]
    flat_answers = [examples[k][1].answer for k, outs in zip(kept, pred_outs, strict=True) for _ in outs]
    exact = exact_match_rewards(flat_prompts, flat_comps, flat_answers, prefill=cfg.prefill,
                                normalized=cfg.normalized_match)
    train_r = (predictor_reward_fn(flat_prompts, [c.text for c in flat_comps], flat_answers)
               if predictor_reward_fn and flat_comps else exact)
    if len(train_r) != len(flat_comps):
        raise ValueError(f"predictor_reward_fn returned {len(train_r)} rewards for {len(flat_comps)} completions")

    # ---- 5. groups, filtering, and the batch
    samples: list[Sample] = []
    group_counter = 0
    n_groups = {"generator": 0, "predictor": 0}
    n_kept = {"generator": 0, "predictor": 0}
    n_varied = {"generator": 0, "predictor": 0}

    def add_group(role: Role, members: list[tuple[Completion, float]]) -> None:
        nonlocal group_counter
        rewards = [r for _, r in members]
        n_groups[role] += 1
        varied = len(members) > 1 and max(rewards) != min(rewards)
        n_varied[role] += varied
        if cfg.filter_groups and not varied:
            return
        n_kept[role] += 1
        for c, r in members:
            if c.token_ids:
                samples.append(Sample(role, group_counter, list(c.prompt_ids), list(c.token_ids),
                                      list(c.logprobs), float(r), c.finish_reason))
        group_counter += 1

    pred_exact_of: dict[int, list[float]] = {}  # example index -> exact-match rewards of its predictions
    pos = 0
    for k, group in zip(kept, pred_outs, strict=True):
        n = len(group)
        pred_exact_of[k] = exact[pos:pos + n]
        add_group("predictor", list(zip(group, train_r[pos:pos + n], strict=True)))
        pos += n

    gen_rewards: list[float] = []
    if mode == "pretrainzero":
        # example index of each valid generator row, in the order examples were appended
        ex_index = iter(range(len(examples)))
        by_paragraph: dict[int, list[tuple[Completion, float]]] = {}
        for i, c, ex in gen_rows:
            if isinstance(ex, MaskedExample):
                k = next(ex_index)
                if k in pred_exact_of:
                    r = generator_reward(pred_exact_of[k], shape=cfg.generator_shape)
                else:  # prediction prompt too long: treat as invalid
                    r = 0.0
            else:
                r = 0.0
            gen_rewards.append(r)
            by_paragraph.setdefault(i, []).append((c, r))
        for members in by_paragraph.values():
            add_group("generator", members)

    # ---- statistics
    invalid = Counter(ex.reason for _, _, ex in gen_rows if isinstance(ex, InvalidMask))
    spans = [ex.answer for _, ex in examples]
    total_groups = n_groups["generator"] + n_groups["predictor"]
    stats.update({
        "paragraphs": float(len(paragraphs)),
        "prompts_too_long": float(too_long),
        "masks": float(len(gen_rows) if mode == "pretrainzero" else len(examples)),
        "mask_valid_rate": (len(examples) / len(gen_rows) if gen_rows
                            else math.nan if mode == "pretrainzero" else 1.0),
        "mean_span_words": _mean([len(s.split()) for s in spans]),
        "mean_span_chars": _mean([len(s) for s in spans]),
        "predictor_reward": _mean(train_r),
        "predictor_accuracy": _mean(exact),
        "generator_reward": _mean(gen_rewards),
        "groups": float(total_groups),
        "filtered_group_frac": (1 - (n_kept["generator"] + n_kept["predictor"]) / total_groups
                                if total_groups else math.nan),
        "nonzero_var_group_frac": ((n_varied["generator"] + n_varied["predictor"]) / total_groups
                                   if total_groups else math.nan),
        "time_generate_masks": t_gen,
        "time_generate_predictions": t_pred,
        "time_generate": t_gen + t_pred,
    })
    for role in ("generator", "predictor"):
        comps = [c for _, c, _ in gen_rows] if role == "generator" else flat_comps
        stats[f"{role}_groups"] = float(n_groups[role])
        stats[f"{role}_groups_kept"] = float(n_kept[role])
        stats[f"{role}_nonzero_var_frac"] = n_varied[role] / n_groups[role] if n_groups[role] else math.nan
        stats[f"{role}_samples"] = float(sum(s.role == role for s in samples))
        stats[f"{role}_response_len"] = _mean([len(c.token_ids) for c in comps])
        stats[f"{role}_finish_length_frac"] = _mean([c.finish_reason == "length" for c in comps])
    for reason, count in invalid.items():
        stats[f"invalid_{reason}"] = float(count)
    stats["sampled_tokens"] = float(sum(len(c.token_ids) for c in flat_comps)
                                    + sum(len(c.token_ids) for _, c, _ in gen_rows))
    examples_log = [
        {"paragraph": paragraphs[i].id, "span": ex.answer,
         "accuracy": _mean(pred_exact_of[k]) if k in pred_exact_of else None}
        for k, (i, ex) in enumerate(examples[:8])
    ]
    return RolloutBatch(samples, stats, examples_log)
