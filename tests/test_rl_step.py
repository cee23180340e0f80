"""The engine-agnostic PretrainZero step: masks, rewards, groups, filtering, both roles in one batch.

A scripted engine (a real implementation of the Engine protocol that answers from a table)
makes every reward hand-checkable; one test runs the step on the tiny real model.
Run: pytest tests/test_rl_step.py
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
import torch

from pretrainzero.engines import Completion, SamplingParams
from pretrainzero.masking import WholeWordMasker
from pretrainzero.rl.step import StepConfig, pretrainzero_step
from pretrainzero.types import Paragraph

A = Paragraph("a", "Paris is the capital of France. The Seine flows through Paris.", "t")
B = Paragraph("b", "Tokyo is a large city in Japan with many trains.", "t")


class ScriptedSampler:
    """Answers ``respond(prompt, k)`` for the k-th sample of each prompt; logs every call."""

    def __init__(self, tokenizer, respond: Callable[[str, int], str]) -> None:
        self.tok, self.respond, self.calls = tokenizer, respond, []

    def generate(self, prompts: Sequence[str], n: int, params: SamplingParams, seeds=None, *,
                 progress=None) -> list[list[Completion]]:
        assert seeds is not None and len(seeds) == len(prompts)  # the step seeds every request
        self.calls.append((list(prompts), n))
        out = []
        for p in prompts:
            row = []
            for k in range(n):
                text = self.respond(p, k)
                ids = self.tok(text, add_special_tokens=False)["input_ids"] or [0]
                prompt_ids = self.tok(p, add_special_tokens=False)["input_ids"]
                row.append(Completion(text, ids, [-1.0] * len(ids), "stop", prompt_ids))
            out.append(row)
        return out


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def game(prompt: str, k: int) -> str:
    if prompt.count("Generate a mask"):
        if "Paris" in prompt:  # paragraph A: one good mask, one not in the text, one without \mask{}
            return ["I pick \\mask{Seine}", "\\mask{Berlin}", "no idea"][k]
        return ["\\mask{trains}", "\\mask{Japan}", "\\mask{Tokyo}"][k]  # paragraph B: three valid masks
    if "The [mask] flows" in prompt:  # Seine: 2 of 4 right
        return "\\boxed{Seine}" if k < 2 else "\\boxed{Loire}"
    if "many [mask]" in prompt:  # trains: all right (trivial mask)
        return "so \\boxed{trains}"
    if "in [mask] with" in prompt:  # Japan: 1 of 4 right
        return "\\boxed{Japan}" if k == 0 else "\\boxed{China}"
    return "\\boxed{Kyoto}"  # Tokyo: none right


def test_pretrainzero_step_rewards_groups_and_stats(tok):
    sampler = ScriptedSampler(tok, game)
    cfg = StepConfig(g_gen=3, g_pred=4, filter_groups=True)
    batch = pretrainzero_step(sampler, tok, [A, B], cfg, np.random.default_rng(0))
    st = batch.stats
    # two sampler calls: 2 generation prompts x 3, then 4 valid masks x 4
    assert [(len(p), n) for p, n in sampler.calls] == [(2, 3), (4, 4)]
    assert st["mask_valid_rate"] == pytest.approx(4 / 6)
    assert st["invalid_not_found"] == 1 and st["invalid_no_mask"] == 1
    assert st["predictor_accuracy"] == pytest.approx((2 + 4 + 1 + 0) / 16)
    # generator rewards (paper shape): A: Seine acc .5 -> .5, invalid 0, 0;
    # B: trains acc 1 -> 0, Japan .25 -> .75, Tokyo 0 -> 0
    gen = [s for s in batch.samples if s.role == "generator"]
    assert sorted(s.reward for s in gen) == [0.0, 0.0, 0.0, 0.0, 0.5, 0.75]
    assert len({s.group for s in gen}) == 2
    # predictor groups: Seine (varied) and Japan (varied) kept; trains (all 1) and Tokyo (all 0) filtered
    pred = [s for s in batch.samples if s.role == "predictor"]
    assert len(pred) == 8 and sorted(s.reward for s in pred) == [0.0] * 5 + [1.0] * 3
    assert st["predictor_groups"] == 4 and st["predictor_groups_kept"] == 2
    assert st["generator_groups"] == 2 and st["generator_groups_kept"] == 2
    assert st["filtered_group_frac"] == pytest.approx(2 / 6)
    assert st["nonzero_var_group_frac"] == pytest.approx(4 / 6)
    assert st["mean_span_words"] == 1.0
    # every sample of a group shares its id; groups never mix roles
    roles = {}
    for s in batch.samples:
        assert roles.setdefault(s.group, s.role) == s.role


def test_generator_shape_and_no_filter(tok):
    cfg = StepConfig(g_gen=3, g_pred=4, filter_groups=False, generator_shape="rzero")
    batch = pretrainzero_step(ScriptedSampler(tok, game), tok, [A, B], cfg, np.random.default_rng(0))
    gen = sorted(s.reward for s in batch.samples if s.role == "generator")
    # rzero 1-2|p-.5|: Seine .5 -> 1, trains 1 -> 0, Japan .25 -> .5, Tokyo 0 -> 0; invalid 0
    assert gen == [0.0, 0.0, 0.0, 0.0, 0.5, 1.0]
    assert batch.stats["filtered_group_frac"] == 0.0 and len(batch.samples) == 6 + 16


def test_all_invalid_masks_give_zero_generator_reward_and_no_predictions(tok):
    sampler = ScriptedSampler(tok, lambda p, k: "I refuse")
    batch = pretrainzero_step(sampler, tok, [A, B], StepConfig(g_gen=2, g_pred=2), np.random.default_rng(0))
    assert batch.stats["mask_valid_rate"] == 0.0 and batch.stats["invalid_no_mask"] == 4
    assert batch.samples == [] and len(sampler.calls) == 1  # no prediction rollouts at all


def test_dense_predictor_reward_hook_keeps_exact_match_for_generator(tok):
    seen = {}

    def dense(prompts, completions, answers):
        seen["args"] = (len(prompts), completions[0], answers[0])
        return [0.1 * i for i in range(len(completions))]

    batch = pretrainzero_step(ScriptedSampler(tok, game), tok, [A], StepConfig(g_gen=3, g_pred=4, filter_groups=False),
                              np.random.default_rng(0), predictor_reward_fn=dense)
    assert seen["args"] == (4, "\\boxed{Seine}", "Seine")
    assert [round(s.reward, 3) for s in batch.samples if s.role == "predictor"] == [0.0, 0.1, 0.2, 0.3]
    assert batch.stats["predictor_accuracy"] == 0.5  # accuracy stays exact match
    assert max(s.reward for s in batch.samples if s.role == "generator") == 0.5


def test_prefill_is_part_of_the_parsed_answer(tok):
    cfg = StepConfig(g_gen=1, g_pred=2, prefill="\\boxed{", mask_prefill="\\mask{", filter_groups=False)

    def respond(prompt, k):
        return "Seine}" if prompt.endswith("\\mask{") else ("Seine}" if k == 0 else "Rhine}")

    batch = pretrainzero_step(ScriptedSampler(tok, respond), tok, [A], cfg, np.random.default_rng(0))
    assert batch.stats["mask_valid_rate"] == 1.0 and batch.stats["predictor_accuracy"] == 0.5


def test_random_rlpt_and_rpt_modes_are_predictor_only(tok):
    cfg = StepConfig(g_pred=3, filter_groups=False, random_masks_per_paragraph=2)
    sampler = ScriptedSampler(tok, lambda p, k: "\\boxed{Paris}")
    batch = pretrainzero_step(sampler, tok, [A, B], cfg, np.random.default_rng(1), mode="random-rlpt",
                              masker=WholeWordMasker(min_chars=4))
    assert {s.role for s in batch.samples} == {"predictor"} and len(batch.samples) == 2 * 2 * 3
    assert len(sampler.calls) == 1
    rpt = pretrainzero_step(ScriptedSampler(tok, lambda p, k: "\\boxed{x}"), tok, [A], cfg, np.random.default_rng(1),
                            mode="rpt")
    assert rpt.stats["masks"] == 2 and all(s.role == "predictor" for s in rpt.samples)


def test_overlong_prompts_are_skipped(tok):
    cfg = StepConfig(g_gen=2, g_pred=2, max_prompt_tokens=10)
    sampler = ScriptedSampler(tok, game)
    batch = pretrainzero_step(sampler, tok, [A], cfg, np.random.default_rng(0))
    assert batch.stats["prompts_too_long"] == 1 and batch.samples == [] and sampler.calls == []


def test_step_on_the_tiny_real_model(tiny_model_dir):
    from pretrainzero.engines.hf import TransformersEngine
    from pretrainzero.models import load_model

    torch.set_num_threads(1)
    model, tok = load_model(str(tiny_model_dir))
    params = SamplingParams(max_new_tokens=4, logprobs=True)
    cfg = StepConfig(g_gen=2, g_pred=2, mask_prefill="\\mask{", gen_params=params, pred_params=params,
                     filter_groups=False)
    batch = pretrainzero_step(TransformersEngine(model, tok), tok, [A, B], cfg, np.random.default_rng(0))
    assert batch.stats["masks"] == 4
    gen = [s for s in batch.samples if s.role == "generator"]
    assert len(gen) == 4
    assert all(1 <= len(s.completion_ids) <= 4 and len(s.logprobs) == len(s.completion_ids) for s in gen)
    assert len(batch.samples) == 4 + 2 * round(batch.stats["mask_valid_rate"] * 4)
