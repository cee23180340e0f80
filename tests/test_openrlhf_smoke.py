"""The GPU smoke test's logic on a CPU: the import check's exit 2, and every check on fabricated runs.

``scripts/gpu_smoke.sh`` needs vLLM, DeepSpeed, flash-attn, Ray and a GPU, none of which this
machine has: so the script itself is run here only up to its import check (exit 2 naming what is
missing), and the assertion functions are run on made-up metrics rows and a real saved tiny model.
Run: pytest tests/test_openrlhf_smoke.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pretrainzero.openrlhf import smoke

ROOT = Path(__file__).resolve().parents[1]


def good_rows():
    return [
        {"global_step": 1, "pz/skipped": 0.0, "policy_loss": -0.01, "actor_grad_norm": 0.8, "rollout/reward_std": 0.2,
         "timing/broadcast": 0.1, "pz/logprob_gap": 0.004, "pz/generator_samples": 0.0, "pz/predictor_samples": 16.0},
        {"global_step": 2, "pz/skipped": 0.0, "policy_loss": 0.0, "actor_grad_norm": 0.0, "rollout/reward_std": 0.0,
         "timing/broadcast": 0.1, "pz/logprob_gap": 0.006, "pz/generator_samples": 16.0, "pz/predictor_samples": 0.0},
    ]


def test_gpu_smoke_script_stops_with_exit_2_naming_missing_packages(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    present = [m for m in smoke.REQUIRED if not smoke.missing_imports([m])]
    if len(present) == len(smoke.REQUIRED):
        pytest.skip("the GPU stack is installed here")
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_smoke.sh"), str(tmp_path / "smoke")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr
    line = out.stderr.strip().splitlines()[-1]
    assert line.startswith("gpu smoke: missing: ")
    named = line.removeprefix("gpu smoke: missing: ").split(" (")[0].split(", ")
    assert named == [m for m in smoke.REQUIRED if m not in present]
    assert not (tmp_path / "smoke").exists()  # nothing was prepared or started


def test_environment_check_names_each_missing_package_and_a_missing_gpu(monkeypatch):
    def importer(name):
        if name in ("vllm", "flash_attn"):
            raise ImportError(name)
        if name == "deepspeed":
            raise RuntimeError("CUDA mismatch")  # a broken build counts as missing
        return object()

    assert smoke.missing_imports(smoke.REQUIRED, importer) == ["vllm", "deepspeed", "flash_attn"]
    assert smoke.check_environment(importer).startswith("missing: vllm, deepspeed, flash_attn")
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "no CUDA GPU" in smoke.check_environment(lambda name: object())


def test_good_runs_pass_every_check():
    rows = good_rows()
    assert smoke.check_rows(rows, 2) == []
    after = rows + [{**rows[1], "global_step": 3}]
    assert smoke.check_resume(rows, after) == []


@pytest.mark.parametrize("change,message", [
    (lambda r: r[0].update(policy_loss=float("nan")), "step 1: policy_loss is not finite"),
    (lambda r: r[0].update(actor_grad_norm=0.0), "step 1: rewards varied but actor_grad_norm is 0.0"),
    (lambda r: r[1].pop("timing/broadcast"), "step 2: no weight sync"),
    (lambda r: r[1].update({"pz/logprob_gap": 2.3}), "step 2: training vs vLLM log-prob gap 2.3"),
    (lambda r: r[0].pop("pz/logprob_gap"), "step 1: training vs vLLM log-prob gap None"),
    (lambda r: r.pop(), "expected steps 1..2"),
    (lambda r: [x.update({"pz/generator_samples": 0.0}) for x in r], "no generator samples"),
    (lambda r: [x.update({"pz/skipped": 1.0}) for x in r], "no step trained"),
])
def test_each_defect_is_named(change, message):
    rows = good_rows()
    change(rows)
    problems = smoke.check_rows(rows, 2)
    assert any(p.startswith(message) or message in p for p in problems), problems


def test_resume_must_continue_at_the_next_step_and_keep_history():
    rows = good_rows()
    assert "expected steps 1..3" in smoke.check_resume(rows, rows)[0]  # the resumed run did not step
    assert "expected steps 1..3" in smoke.check_resume(rows, rows + rows[1:])[0]  # step 2 again
    changed = [rows[0], {**rows[1], "policy_loss": 9.0}, {**rows[1], "global_step": 3}]
    assert smoke.check_resume(rows, changed) == ["resume: the first run's metrics rows changed"]


def test_hf_output_must_load(tiny_model_dir, tmp_path):
    assert smoke.check_hf_output(tiny_model_dir) == []
    assert "config.json missing" in smoke.check_hf_output(tmp_path)[0]
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    for f in broken.glob("*.safetensors"):
        f.write_bytes(b"not a safetensors file")
    assert "does not load" in smoke.check_hf_output(broken)[0]


def test_check_run_reads_the_run_folder_and_the_time_budget(tiny_model_dir, tmp_path):
    rows = good_rows()
    (tmp_path / "run" / "ckpt").mkdir(parents=True)
    (tmp_path / "metrics-first-run.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    after = rows + [{**rows[1], "global_step": 3}]
    (tmp_path / "run" / "ckpt" / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in after) + '{"torn')
    shutil.copytree(tiny_model_dir, tmp_path / "run" / "final")
    assert smoke.check_run(tmp_path, 300.0) == []
    assert smoke.check_run(tmp_path, 500.0) == ["took 500 s, over the 480 s budget"]


def test_smoke_predictor_reward_varies():
    reward = smoke.length_reward(None, None)
    assert len(set(reward(["p"] * 3, ["a", "abc", "abcdef"], ["x"] * 3))) == 3


def test_prepare_writes_a_tiny_head_dim_64_model_and_launchable_recipes(tmp_path):
    pytest.importorskip("pretrainzero.openrlhf.launch")
    from transformers import AutoConfig

    from pretrainzero.openrlhf.launch import plan
    from pretrainzero.rl.recipe import load_recipe

    first, resume = smoke.prepare(tmp_path, None)
    cfg = AutoConfig.from_pretrained(tmp_path / "model")
    assert cfg.hidden_size // cfg.num_attention_heads == 64  # vLLM's attention kernels want head_dim >= 64
    r1, r2 = load_recipe(first), load_recipe(resume)
    assert (r1.steps, r2.steps, r1.cold_start_steps, r1.model) == (2, 3, 1, str(tmp_path / "model"))
    assert r1.predictor_reward == "pretrainzero.openrlhf.smoke:length_reward"
    a, b = plan(r1, first, out=tmp_path / "run"), plan(r2, resume, out=tmp_path / "run", resume=True)
    assert "--ckpt.load_enable" not in a.argv and "--ckpt.load_enable" in b.argv
    assert a.env["PRETRAINZERO_RECIPE"] == str(first.resolve())
    flags = list(a.argv)
    assert flags[flags.index("--train.batch_size") + 1] == "80" and "--train.colocate_all" in flags
