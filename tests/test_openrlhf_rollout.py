"""Rollouts through OpenRLHF's engine actor: our plug-in and sampler drive the PretrainZero step.

The engine is OpenRLHF 0.11.2's real ``RolloutRayActor.generate_responses`` with the real plug-in
loader (``_load_agent_executor``) and our ``agent_plugin.py``; only vLLM's ``generate`` is
replaced by the step tests' script (decode the token ids it is sent, answer, return token ids).
The step must come out exactly as with the step tests' ``ScriptedSampler``.
Run: pytest tests/test_openrlhf_rollout.py
"""

from __future__ import annotations

import collections
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("openrlhf")
from openrlhf_stubs import stubbed  # noqa: E402
from test_rl_step import A, B, ScriptedSampler, game  # noqa: E402

from pretrainzero.engines import SamplingParams  # noqa: E402
from pretrainzero.rl.step import StepConfig, pretrainzero_step  # noqa: E402

PLUGIN = Path(__file__).resolve().parents[1] / "pretrainzero" / "openrlhf" / "agent_plugin.py"


@pytest.fixture(scope="module")
def orl():
    with stubbed() as ray:
        from openrlhf.trainer.ray import vllm_engine

        from pretrainzero.openrlhf.rollout import OpenRLHFEngine

        yield SimpleNamespace(ray=ray, vllm_engine=vllm_engine, OpenRLHFEngine=OpenRLHFEngine)


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def fake_engine_class(orl):
    class FakeVLLMEngine:
        """A ``RolloutRayActor`` whose vLLM answers from a script: the k-th request for a prompt gets
        ``respond(decoded prompt, k)``. Everything else is OpenRLHF's code."""

        generate_responses = orl.vllm_engine.RolloutRayActor.cls.generate_responses  # the real method

        def __init__(self, tokenizer, respond, plugin: str, finish: str = "stop"):
            self.executor = orl.vllm_engine._load_agent_executor(plugin)  # as RolloutRayActor.__init__ does
            self.tok, self.respond, self.finish = tokenizer, respond, finish
            self.seen = collections.Counter()
            self.requests: list[tuple[list[int], object]] = []

        async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
            self.requests.append((list(prompt_token_ids), sampling_params))
            k = self.seen[tuple(prompt_token_ids)]
            self.seen[tuple(prompt_token_ids)] += 1
            text = self.respond(self.tok.decode(prompt_token_ids), k)
            ids = self.tok(text, add_special_tokens=False)["input_ids"] or [0]
            logprobs = [{t: SimpleNamespace(logprob=-1.0)} for t in ids] if sampling_params.logprobs else None
            out = SimpleNamespace(text=text, token_ids=ids, logprobs=logprobs, finish_reason=self.finish)
            return SimpleNamespace(outputs=[out])

    return FakeVLLMEngine


def engines(orl, tok, respond, k=2, **kw):
    return [orl.ray.remote(fake_engine_class(orl)).remote(tok, respond, str(PLUGIN), **kw) for _ in range(k)]


def test_step_over_openrlhf_engines_equals_the_scripted_step(orl, tok):
    cfg = StepConfig(g_gen=3, g_pred=4, filter_groups=True)
    handles = engines(orl, tok, game)
    sampler = orl.OpenRLHFEngine(handles, tok, max_length=4096)
    ours = pretrainzero_step(sampler, tok, [A, B], cfg, np.random.default_rng(0))
    ref = pretrainzero_step(ScriptedSampler(tok, game), tok, [A, B], cfg, np.random.default_rng(0))
    assert ours.samples == ref.samples  # roles, groups, prompt/completion token ids, logprobs, rewards
    assert [s.group for s in ours.samples] == [s.group for s in ref.samples]
    timing = {k for k in ref.stats if k.startswith("time_")}
    assert {k: v for k, v in ours.stats.items() if k not in timing} == {
        k: v for k, v in ref.stats.items() if k not in timing}
    # the step tests' expectations hold: 6 generator samples (rewards 0,0,0,0,.5,.75), 8 kept predictions
    assert sorted(s.reward for s in ours.samples if s.role == "generator") == [0.0, 0.0, 0.0, 0.0, 0.5, 0.75]
    assert sum(s.role == "predictor" for s in ours.samples) == 8
    # token ids in: each engine got our tokenisation of the rendered prompt, n requests per prompt
    requests = [r for h in handles for r in h._obj.requests]
    assert len(requests) == 2 * 3 + 4 * 4
    assert {tuple(s.prompt_ids) for s in ours.samples} <= {tuple(ids) for ids, _ in requests}
    assert all(h._obj.requests for h in handles)  # round-robin over both engines


def test_sampling_params_seeds_eos_and_budget(orl, tok):
    from pretrainzero.engines import sample_seed

    handles = engines(orl, tok, lambda p, k: "\\boxed{x}", k=1, finish="length")
    engine = orl.OpenRLHFEngine(handles, tok, max_length=64, eos_ids=[5, 7])
    params = SamplingParams(temperature=0.7, top_p=0.9, max_new_tokens=32, stop=("}",), logprobs=True)
    prompt = "short prompt"
    done = []
    (row,) = engine.generate([prompt], 3, params, seeds=[11], progress=done.append)
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    assert len(row) == 3 and all(c.prompt_ids == ids and c.finish_reason == "length" for c in row)
    assert all(c.text == "\\boxed{x}" and c.logprobs == [-1.0] * len(c.token_ids) for c in row)
    assert done == [3]
    sent = [sp for _, sp in handles[0]._obj.requests]
    assert all(sp.temperature == 0.7 and sp.top_p == 0.9 and sp.stop == ["}"] and sp.logprobs == 1 for sp in sent)
    assert [sp.seed for sp in sent] == [sample_seed(11, k) for k in range(3)]  # the engine contract's seeds
    assert all(sp.stop_token_ids == [5, 7] and sp.max_tokens == 32 for sp in sent)
    long_prompt = "word " * 40
    n_long = len(tok(long_prompt, add_special_tokens=False)["input_ids"])
    engine.generate([long_prompt], 1, params, seeds=[0])
    assert handles[0]._obj.requests[-1][1].max_tokens == min(32, 64 - n_long)  # capped by --data.max_len
    (plain,) = engine.generate([ids], 1, SamplingParams(max_new_tokens=4), seeds=[0])  # token-id prompts too
    assert plain[0].prompt_ids == ids and plain[0].logprobs == []  # no log-probs unless asked


def test_plugin_result_is_openrlhf_shaped_and_feeds_its_experience_builder(orl, tok):
    """The plug-in's dict goes through OpenRLHF's own ``_process_response_into_experience``."""
    from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator

    handle = engines(orl, tok, lambda p, k: "\\mask{Seine}", k=1)[0]
    ids = tok("Mask a span.", add_special_tokens=False)["input_ids"]
    params = SimpleNamespace(max_tokens=16, logprobs=1)
    (resp,) = handle.generate_responses.remote(prompt=ids, label=None, sampling_params=params, max_length=64,
                                               hf_tokenizer=None, num_samples=1)
    gen = SamplesGenerator.__new__(SamplesGenerator)
    exp = gen._process_response_into_experience(resp, max_len=64)
    comp = tok("\\mask{Seine}", add_special_tokens=False)["input_ids"]
    assert exp.sequences[0].tolist() == ids + comp
    assert exp.action_mask[0].tolist() == [0] * (len(ids) - 1) + [1] * len(comp)
    assert exp.rollout_log_probs[0].tolist() == [0.0] * (len(ids) - 1) + [-1.0] * len(comp)
    assert resp["text"] == "\\mask{Seine}" and resp["finish_reason"] == "stop" and not resp["truncated"]


def test_engine_that_drops_the_prompt_is_caught(orl, tok):
    from pretrainzero.openrlhf.rollout import completion_from_response

    bad = {"observation_tokens": [9, 9], "action_ranges": [(1, 2)], "rollout_log_probs": None, "text": "x",
           "finish_reason": "stop"}
    with pytest.raises(RuntimeError, match="agent_func_path"):
        completion_from_response(bad, [1, 2, 3])
