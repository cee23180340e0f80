"""The embedded trainer end to end on the tiny real model: a user-defined algorithm, failure
handling (all-invalid masks, NaN losses), the CLI, and SIGKILL + --resume giving bitwise the same
weights as an uninterrupted run. Run: pytest tests/test_rl_trainer.py
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from pretrainzero.corpus import register_corpus
from pretrainzero.rl.checkpoint import list_checkpoints
from pretrainzero.rl.metrics import read_metrics
from pretrainzero.rl.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
TEXTS = tuple(
    f"Paragraph {i}. The river Seine flows through Paris, the capital of France. Paris has {i} bridges and music."
    for i in range(60)
)
# random-rlpt + a toy dense reward: a random tiny model gets varied rewards, so updates are real
LEARNING = ["mode=random-rlpt", "predictor_reward=user_algo_example:length_reward",
            "algorithm=user_algo_example:SignedReinforce", "filter_groups=true"]


@pytest.fixture(scope="module")
def corpus():
    register_corpus("rl-trainer-test", source=TEXTS, min_chars=1)
    return "rl-trainer-test"


def recipe(tiny_model_dir, corpus, *overrides):
    return load_recipe(ROOT / "agents" / "tiny-test.yaml", [f"model={tiny_model_dir}", f"corpus={corpus}", *overrides])


def test_trains_with_a_user_defined_algorithm(tiny_model_dir, corpus, tmp_path):
    from pretrainzero.rl.trainer import train

    r = recipe(tiny_model_dir, corpus, *LEARNING, "steps=3", "save_every=2")
    before = load_file(str(tiny_model_dir / "model.safetensors"))
    res = train(r, tmp_path, progress=False, log=lambda s: None)
    assert res.status == "completed" and res.steps_done == 3
    rows = read_metrics(res.metrics)
    assert [row["step"] for row in rows] == [0, 1, 2]
    for key in ("predictor_accuracy", "predictor_reward", "generator_reward", "mask_valid_rate", "mean_span_words",
                "filtered_group_frac", "nonzero_var_group_frac", "predictor_response_len", "entropy", "tokens_per_s",
                "time_generate", "time_train", "loss", "grad_norm", "lr"):
        assert key in rows[0], key
    assert all(row["nonzero_var_group_frac"] > 0 and not row["skipped"] for row in rows)
    assert rows[0]["lr"] == pytest.approx(1e-3)  # warm-up of 1 step reaches the peak at step 0
    # checkpoints: the last two kept (step 2 and the final step 3), HF-loadable, optimizer state weights_only
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == ["step-000002", "step-000003"]
    assert res.checkpoint == tmp_path / "checkpoints" / "step-000003"
    after = load_file(str(res.checkpoint / "model.safetensors"))
    assert any(not torch.equal(before[k], after[k]) for k in after), "weights did not change"
    opt = torch.load(res.checkpoint / "optimizer.pt", weights_only=True)
    assert opt["state"] and json.loads((res.checkpoint / "state.json").read_text())["step"] == 3
    assert res.plot is not None and res.plot.stat().st_size > 10_000
    report = res.report.read_text()
    assert "Status: **completed**" in report and "user_algo_example:SignedReinforce" in report


def test_never_valid_masks_warn_and_training_continues(tiny_model_dir, corpus, tmp_path):
    from pretrainzero.rl.trainer import train

    lines = []
    r = recipe(tiny_model_dir, corpus, "steps=2", "predictor_reward=user_algo_example:length_reward")
    res = train(r, tmp_path, progress=False, log=lines.append)
    rows = read_metrics(res.metrics)
    assert res.status == "completed" and len(rows) == 2
    assert all(row["mask_valid_rate"] == 0 and row["generator_reward"] == 0 for row in rows)
    assert all(row["predictor_samples"] == 0 for row in rows)  # no valid mask, no predictions
    assert all(row["predictor_accuracy"] is None for row in rows)  # no data: null, not 0
    assert all(row["predictor_response_len"] is None for row in rows)
    assert res.warnings and "none of the 4 generated masks was a valid \\mask{}" in res.warnings[0]
    assert "cold start" in res.warnings[0] and "## Warnings" in res.report.read_text()


def test_invalid_mask_warning_is_said_once_per_run_across_a_resume(tiny_model_dir, corpus, tmp_path):
    from pretrainzero.rl.trainer import train

    lines: list[str] = []
    overrides = ("predictor_reward=user_algo_example:length_reward", "save_every=1")
    train(recipe(tiny_model_dir, corpus, "steps=2", *overrides), tmp_path, progress=False, log=lines.append)
    res = train(recipe(tiny_model_dir, corpus, "steps=3", *overrides), tmp_path, resume=True, progress=False,
                log=lines.append)
    assert res.status == "completed" and len(read_metrics(res.metrics)) == 3
    said = [line for line in lines if "generated masks was a valid" in line]
    assert len(said) == 1 and "1 such steps so far" in said[0], said
    # no prediction was made: the per-step line says so instead of printing acc=nan
    per_step = [line for line in lines if line.startswith("train: ")]
    assert len(per_step) == 3 and all("acc=–" in line and "nan" not in line for line in per_step), per_step


def test_nan_losses_skip_updates_then_stop_with_last_checkpoint_intact(tiny_model_dir, corpus, tmp_path):
    from pretrainzero.rl.trainer import train

    ok = train(recipe(tiny_model_dir, corpus, *LEARNING, "steps=2", "save_every=1"), tmp_path, progress=False,
               log=lambda s: None)
    good = ok.checkpoint
    weights = (good / "model.safetensors").read_bytes()
    bad = recipe(tiny_model_dir, corpus, *LEARNING, "steps=8", "save_every=1", "nan_patience=2",
                 "algorithm=user_algo_example:NaNAlgorithm")
    res = train(bad, tmp_path, resume=True, progress=False, log=lambda s: None)
    assert res.status == "diverged"
    rows = read_metrics(res.metrics)
    assert [row["step"] for row in rows] == [0, 1, 2, 3]  # stopped after 2 non-finite steps in a row
    assert [row["skipped"] for row in rows] == [False, False, True, True] and rows[-1]["loss"] is None
    assert list_checkpoints(tmp_path / "checkpoints")[-1] == good == res.checkpoint
    assert (good / "model.safetensors").read_bytes() == weights
    assert "Status: **diverged**" in res.report.read_text()


DRIVER = """
import sys
sys.path.insert(0, {tests!r})
from pretrainzero.corpus import register_corpus
from pretrainzero.rl.recipe import load_recipe
from pretrainzero.rl.trainer import train
register_corpus("rl-trainer-test", source={texts!r}, min_chars=1)
r = load_recipe({recipe!r}, {overrides!r})
res = train(r, sys.argv[1], resume="--resume" in sys.argv, progress=False)
print("STATUS", res.status)
"""


def _driver(tmp_path, tiny_model_dir, overrides):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(tests=str(TESTS), texts=TEXTS, recipe=str(ROOT / "agents" / "tiny-test.yaml"),
                                    overrides=[f"model={tiny_model_dir}", "corpus=rl-trainer-test", *overrides]))
    return script


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def test_sigkill_then_resume_matches_uninterrupted_run_bitwise(tiny_model_dir, tmp_path):
    steps = 6
    script = _driver(tmp_path, tiny_model_dir, [*LEARNING, f"steps={steps}", "save_every=1", "keep_checkpoints=2"])
    run = lambda out, *extra: subprocess.run([sys.executable, str(script), str(out), *extra], check=False, env=_env(),
                                             capture_output=True, text=True, timeout=150)
    ref = tmp_path / "ref"
    done = run(ref)
    assert "STATUS completed" in done.stdout, done.stderr[-2000:]

    killed = tmp_path / "killed"
    delay = random.uniform(0.0, 1.0)  # kill at an arbitrary moment after the second checkpoint
    proc = subprocess.Popen([sys.executable, str(script), str(killed)], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "checkpoints" / "step-000002").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "run finished before it could be killed"
    resumed = run(killed, "--resume")
    assert "STATUS completed" in resumed.stdout, resumed.stderr[-2000:]

    a = load_file(str(ref / "checkpoints" / f"step-{steps:06d}" / "model.safetensors"))
    b = load_file(str(killed / "checkpoints" / f"step-{steps:06d}" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), f"weights differ after SIGKILL at +{delay:.2f}s and resume"
    ra, rb = read_metrics(ref / "metrics.jsonl"), read_metrics(killed / "metrics.jsonl")
    assert [r["step"] for r in rb] == list(range(steps))  # no duplicated or missing steps
    assert [r["predictor_reward"] for r in ra] == [r["predictor_reward"] for r in rb]
    assert not list((killed / "checkpoints").glob(".tmp-*"))


def test_cli_train_prints_where_things_are(tiny_model_dir, tmp_path):
    data = tmp_path / "corpus.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    envs = tmp_path / "envs"
    envs.mkdir()
    (envs / "cli-test.yaml").write_text(f"name: rl-cli-test\nsource: {data}\nmin_chars: 1\n")
    env = {**_env(), "PRETRAINZERO_ENV_PATH": str(envs), "PRETRAINZERO_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "pretrainzero", "train", "--recipe", str(ROOT / "agents" / "tiny-test.yaml"),
           "--steps", "1", "--out", str(out), "--no-progress", "--set", f"model={tiny_model_dir}",
           "--set", "corpus=rl-cli-test"]
    heldout = ["--set", "heldout_n=2", "--set", "heldout_samples=2", "--set", "eval_at_end=true",
               "--set", "heldout_masker=whole-word", "--set", "eval_max_tokens=2"]
    proc = subprocess.run(cmd + heldout, check=False, env=env, capture_output=True, text=True, timeout=150,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"report:     {out / 'report.md'}" in proc.stdout and "checkpoint: " in proc.stdout
    assert "train: 1/1 step (100%" in proc.stdout and ", acc=" in proc.stdout  # --no-progress: log lines
    assert "held-out final: accuracy " in proc.stdout and "sampled accuracy (mean@2)" in proc.stdout
    assert (out / "checkpoints" / "step-000001" / "model.safetensors").exists() and (out / "curves.png").exists()
    bad = subprocess.run(cmd + ["--set", "g_genn=2"], check=False, env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert bad.returncode == 2 and "unknown recipe field 'g_genn'; did you mean 'g_gen'" in bad.stderr


def test_time_budget_stops_early_with_a_checkpoint(tiny_model_dir, corpus, tmp_path):
    from pretrainzero.rl.trainer import train

    res = train(recipe(tiny_model_dir, corpus, *LEARNING, "steps=50", "save_every=100", "max_minutes=0.0001"),
                tmp_path, progress=False, log=lambda s: None)
    assert res.status == "completed" and res.steps_done == 1
    assert res.checkpoint == tmp_path / "checkpoints" / "step-000001"
    assert "time budget" in res.warnings[-1]


def test_shared_prompt_pass_matches_the_plain_pass(tiny_model_dir):
    from pretrainzero.models import load_model
    from pretrainzero.rl.step import Sample
    from pretrainzero.rl.update import token_logprobs

    model, tok = load_model(str(tiny_model_dir))
    g = torch.Generator().manual_seed(0)
    ids = lambda n: torch.randint(3, 500, (n,), generator=g).tolist()
    pa, pb = ids(17), ids(9)
    samples = [Sample("predictor", 0, pa, ids(5), [], 1.0, "stop"), Sample("predictor", 0, pa, ids(3), [], 0.0, "stop"),
               Sample("predictor", 1, pb, ids(6), [], 1.0, "stop"), Sample("predictor", 1, pb, ids(1), [], 0.0, "stop"),
               Sample("generator", 2, ids(12), ids(4), [], 0.0, "stop")]
    out = {}
    for share in (False, True):
        model.zero_grad()
        logp, mask, ent = token_logprobs(model, samples, tok.pad_token_id, 0.7, share_prompts=share)
        (logp * mask).sum().backward()
        out[share] = (logp * mask, mask, ent * mask, [p.grad.clone() for p in model.parameters()])
    (a, ma, ea, ga), (b, mb, eb, gb) = out[False], out[True]
    assert torch.equal(ma, mb) and ma.sum() == 5 + 3 + 6 + 1 + 4
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(ea, eb, atol=1e-5)
    assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(ga, gb, strict=True))
    with torch.no_grad():  # both equal each sample run alone, without any padding
        for r, s in enumerate(samples):
            logits = model(input_ids=torch.tensor([s.prompt_ids + s.completion_ids])).logits[0].float() / 0.7
            alone = torch.log_softmax(logits, -1)[len(s.prompt_ids) - 1 : -1].gather(
                -1, torch.tensor(s.completion_ids)[:, None])[:, 0]
            assert torch.allclose(a[r, : len(s.completion_ids)], alone, atol=1e-5), r


def test_cold_start_steps_then_active_masking(tiny_model_dir, corpus, tmp_path):
    from pretrainzero.rl.trainer import train

    r = recipe(tiny_model_dir, corpus, "steps=3", "cold_start_steps=2", "random_masker=whole-word",
               "random_masker_kwargs={min_chars: 4, rule: onemask}", "predictor_reward=user_algo_example:length_reward")
    rows = read_metrics(train(r, tmp_path, progress=False, log=lambda s: None).metrics)
    assert [row["mode"] for row in rows] == ["random-rlpt", "random-rlpt", "pretrainzero"]
    assert rows[0]["predictor_samples"] > 0 and rows[0]["generator_samples"] == 0


def test_sft_cold_start_and_heldout_eval_inside_the_trainer(tiny_model_dir, tmp_path):
    from pretrainzero.rl.trainer import train

    texts = tuple(f"Item {i}: the river Seine flows through Paris and the river Loire flows to Nantes."
                  for i in range(300))
    register_corpus("rl-trainer-heldout", source=texts, min_chars=1)
    r = recipe(tiny_model_dir, "rl-trainer-heldout", *LEARNING, "steps=1", "sft={steps: 1, batch_size: 2}",
               "heldout_n=3", "eval_at_start=true", "eval_at_end=true", "eval_max_tokens=3",
               "heldout_masker=whole-word", "heldout_samples=2")
    logged: list[str] = []
    res = train(r, tmp_path, progress=False, log=logged.append)
    assert set(res.heldout) == {"base", "cold_start", "final"} and res.heldout["final"]["n"] >= 1
    assert res.heldout["final"]["samples_per_item"] == 2 and 0 <= res.heldout["final"]["sampled_accuracy"] <= 1
    assert any("sampled accuracy (mean@2)" in line for line in logged)
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == ["step-000000", "step-000001"]
    assert "Held-out masked-span evaluation" in res.report.read_text()
    assert any(row.get("phase") == "sft" for row in read_metrics(res.metrics))


def test_zero_steps_reuse_the_held_out_result_of_the_same_weights(tiny_model_dir, tmp_path):
    """With no training step, "final" is the evaluation just made (not a second, identical pass)."""
    from pretrainzero.rl.trainer import train

    texts = tuple(f"Item {i}: the river Seine flows through Paris and the river Loire flows to Nantes."
                  for i in range(300))
    register_corpus("rl-trainer-heldout0", source=texts, min_chars=1)
    r = recipe(tiny_model_dir, "rl-trainer-heldout0", "steps=0", "heldout_n=3", "eval_at_start=true",
               "eval_at_end=true", "eval_max_tokens=3", "heldout_masker=whole-word")
    logged: list[str] = []
    res = train(r, tmp_path, progress=False, log=logged.append)
    assert res.heldout["final"] == res.heldout["base"]
    assert len([line for line in logged if "held-out after training" in line and "same weights" in line]) == 1
    assert len([line for line in logged if line.startswith("held-out: ")]) == 1  # one evaluation's progress line


def test_an_update_that_makes_weights_non_finite_is_undone(tiny_model_dir, corpus, tmp_path):
    from pretrainzero.rl.trainer import train

    r = recipe(tiny_model_dir, corpus, *LEARNING, "steps=2", "save_every=1", "nan_patience=3", "schedule=constant")
    object.__setattr__(r, "lr", float("inf"))  # past validation on purpose: every AdamW step gives NaN weights
    lines: list[str] = []
    res = train(r, tmp_path, progress=False, log=lines.append)
    rows = read_metrics(res.metrics)
    assert [row["skipped"] for row in rows] == [True, True]
    assert sum("made weights non-finite; restored the last good ones" in line for line in lines) == 2
    saved = load_file(str(res.checkpoint / "model.safetensors"))  # the final checkpoint: the starting weights
    start = load_file(str(tiny_model_dir / "model.safetensors"))
    assert all(torch.isfinite(w).all() for w in saved.values())
    assert all(torch.equal(saved[k], start[k]) for k in start)


def test_weights_finite_check_catches_nan_and_inf():
    from pretrainzero.rl.trainer import _weights_finite

    params = [torch.randn(4, 3), torch.randn(7)]
    assert _weights_finite(params)
    for bad in (float("nan"), float("inf"), -float("inf")):
        params[1][2] = bad
        assert not _weights_finite(params)
        params[1][2] = 0.5


def test_keep_freed_memory_stops_page_faults_on_reallocation():
    import subprocess
    import sys

    probe = """
import resource, sys, torch
from pretrainzero.rl.memory import keep_freed_memory
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(4):
        torch.ones(64 * 2**20 // 4)  # 64 MB allocated, touched, freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
default = faults()
assert keep_freed_memory()
for _ in range(4):
    faults()  # the heap grows until freed blocks are reused
print(default, faults())
"""
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc only")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    default, kept = int(out[0]), int(out[1])
    assert default > 4 * 10_000  # each fresh 64 MB block faults its ~16k pages in
    assert kept < default / 10
