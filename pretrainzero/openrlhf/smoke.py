r"""The one-GPU smoke test of the OpenRLHF backend (``scripts/gpu_smoke.sh``).

``python -m pretrainzero.openrlhf.smoke OUT [--model DIR]`` on a machine with one CUDA GPU and
``pip install 'pretrainzero[openrlhf]'``:

1. Imports first: vllm, deepspeed, flash_attn, ray, openrlhf and a CUDA device. Anything missing
   ends the test with exit status 2 and one line naming it (nothing is downloaded).
2. A tiny random Llama (hidden 256, so head_dim 64, which vLLM's attention kernels accept) unless
   ``--model`` names a local model, and a recipe from ``agents/openrlhf-smoke-1gpu.yaml``: step 1 a
   random-RLPT cold start with a dense predictor reward (varied rewards, so a random model still
   gets a gradient), step 2 the full two-role step; learning rate 1e-3 so that an update moves the
   log-probs and a missed weight sync would show.
3. Two colocated steps through ``pretrainzero train --backend openrlhf``'s command
   (:func:`pretrainzero.openrlhf.launch.plan`), then a resume for one more step.
4. Checks on what the runs left (:func:`check_run`): every step logged, finite policy loss, a
   non-zero gradient norm wherever the rewards varied, a weight sync every trained step
   (``timing/broadcast``), both roles sampled, the mean |training - vLLM| log-prob gap on real
   tokens below 0.1 nats (the alignment check no CPU test can make), a Hugging Face model in the
   output folder that loads, and the resume continuing at step 3. Exit 0 on success, 1 listing the
   failed checks, 2 for a missing package or GPU.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeGuard

REQUIRED = ("vllm", "deepspeed", "flash_attn", "ray", "openrlhf")
ROOT = Path(__file__).resolve().parents[2]
SMOKE_RECIPE = ROOT / "agents" / "openrlhf-smoke-1gpu.yaml"
MAX_GAP = 0.1  # nats per token
BUDGET_S = 480.0


def missing_imports(names: Sequence[str] = REQUIRED,
                    importer: Callable[[str], Any] = importlib.import_module) -> list[str]:
    """The packages among ``names`` that fail to import (not installed, or broken builds)."""
    missing = []
    for name in names:
        try:
            importer(name)
        except Exception:  # noqa: BLE001 — a CUDA build mismatch raises more than ImportError
            missing.append(name)
    return missing


def check_environment(importer: Callable[[str], Any] = importlib.import_module) -> str | None:
    """``None`` when the smoke test can run here, else the one-line reason."""
    missing = missing_imports(REQUIRED, importer)
    if missing:
        return (f"missing: {', '.join(missing)} (install the GPU stack: pip install 'pretrainzero[openrlhf]'; "
                "flash-attn builds against the local CUDA)")
    import torch

    if not torch.cuda.is_available():
        return "no CUDA GPU visible (the smoke test trains and samples on one GPU)"
    return None


def length_reward(model: Any, tokenizer: Any,
                  **_: Any) -> Callable[[Sequence[str], Sequence[str], Sequence[str]], list[float]]:
    """A dense predictor reward for the smoke test: shorter answers score higher (varies even for a
    random model, so advantages and gradients are non-zero). A ``module:factory`` reward."""
    def reward(prompts: Sequence[str], completions: Sequence[str], answers: Sequence[str]) -> list[float]:
        return [1.0 / (1.0 + len(c)) for c in completions]

    return reward


# ----------------------------------------------------------------------------- checks


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The metrics rows the trainer wrote (``metrics.jsonl`` in ``--ckpt.path``); none if absent."""
    from ..rl.metrics import read_metrics

    return read_metrics(path) if Path(path).is_file() else []


def _finite(x: Any) -> TypeGuard[float]:
    return isinstance(x, (int, float)) and math.isfinite(x)


def check_rows(rows: Sequence[dict[str, Any]], steps: int) -> list[str]:
    """Problems in one run's metrics (empty when it passed); ``steps`` steps are expected."""
    problems = []
    got = [r.get("global_step") for r in rows]
    if got != list(range(1, steps + 1)):
        problems.append(f"expected steps 1..{steps} in metrics.jsonl, got {got}")
    trained = [r for r in rows if not r.get("pz/skipped")]
    if not trained:
        problems.append("no step trained (every step was skipped)")
    for r in trained:
        s = r.get("global_step")
        if not _finite(r.get("policy_loss")):
            problems.append(f"step {s}: policy_loss is not finite ({r.get('policy_loss')})")
        if r.get("rollout/reward_std", 0) > 0 and not (_finite(r.get("actor_grad_norm")) and r["actor_grad_norm"] > 0):
            problems.append(f"step {s}: rewards varied but actor_grad_norm is {r.get('actor_grad_norm')}")
        if "timing/broadcast" not in r:
            problems.append(f"step {s}: no weight sync to vLLM (timing/broadcast missing)")
        gap = r.get("pz/logprob_gap")
        if not _finite(gap) or gap >= MAX_GAP:
            problems.append(f"step {s}: training vs vLLM log-prob gap {gap} nats/token (must be < {MAX_GAP}; "
                            "a large gap means misaligned action masks or stale engine weights)")
    if trained and not any(_finite(r.get("actor_grad_norm")) and r["actor_grad_norm"] > 0 for r in trained):
        problems.append("actor_grad_norm is 0 on every step: nothing was learned")
    for role in ("generator", "predictor"):
        if not sum(r.get(f"pz/{role}_samples", 0) for r in rows):
            problems.append(f"no {role} samples were trained in any step")
    return problems


def check_resume(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]) -> list[str]:
    """The resumed run kept the first run's rows and added exactly the next step."""
    problems = []
    n = len(before)
    if [r.get("global_step") for r in after] != list(range(1, n + 2)):
        problems.append(f"resume: expected steps 1..{n + 1} after resuming, "
                        f"got {[r.get('global_step') for r in after]}")
    elif list(after[:n]) != list(before):
        problems.append("resume: the first run's metrics rows changed")
    return problems


def check_hf_output(path: str | Path) -> list[str]:
    """The saved Hugging Face model loads (config, weights and tokenizer)."""
    p = Path(path)
    if not (p / "config.json").is_file():
        return [f"no Hugging Face model in {p} (config.json missing)"]
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        AutoModelForCausalLM.from_pretrained(p)
        AutoTokenizer.from_pretrained(p)
    except Exception as exc:  # noqa: BLE001 — any failure to load is the finding
        return [f"the model in {p} does not load: {type(exc).__name__}: {exc}"]
    return []


def check_run(out: str | Path, seconds: float) -> list[str]:
    """Every check on a finished smoke run in ``out`` (see the module docstring)."""
    out = Path(out)
    first = read_rows(out / "metrics-first-run.jsonl")
    after = read_rows(out / "run" / "ckpt" / "metrics.jsonl")
    problems = check_rows(first, 2) + check_resume(first, after) + check_hf_output(out / "run" / "final")
    if seconds > BUDGET_S:
        problems.append(f"took {seconds:.0f} s, over the {BUDGET_S:.0f} s budget")
    return problems


# ----------------------------------------------------------------------------- the run


def prepare(out: Path, model: str | None) -> tuple[Path, Path]:
    """The model (tiny random unless given) and the two recipes (2 steps; 3 steps for the resume)."""
    import yaml

    from ..models import build_tiny_model

    if model is None:
        model = str(build_tiny_model(out / "model", hidden_size=256))
    data = yaml.safe_load(SMOKE_RECIPE.read_text())
    data.update(model=model, steps=2, cold_start_steps=1, lr=1e-3, save_every=1,
                predictor_reward="pretrainzero.openrlhf.smoke:length_reward")
    first, resume = out / "recipe.yaml", out / "recipe-resume.yaml"
    first.write_text(yaml.safe_dump(data, sort_keys=False))
    resume.write_text(yaml.safe_dump({**data, "steps": 3}, sort_keys=False))
    return first, resume


def launch(recipe_path: Path, out: Path, log: Path, *, resume: bool, timeout: float) -> int:
    """Run the command ``pretrainzero train --backend openrlhf`` would run; output to ``log``."""
    from ..rl.recipe import load_recipe
    from .launch import plan

    cmd = plan(load_recipe(recipe_path), recipe_path, out=out, resume=resume)
    with open(log, "w") as f:
        try:
            return subprocess.run(list(cmd.argv), env={**os.environ, **cmd.env}, stdout=f, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False).returncode
        except subprocess.TimeoutExpired:
            return 124


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pretrainzero.openrlhf.smoke", description=__doc__.split("\n")[0])
    ap.add_argument("out", help="folder for the model, recipes, logs and run (e.g. runs/gpu-smoke)")
    ap.add_argument("--model", help="a local model directory instead of the tiny random model")
    args = ap.parse_args(argv)
    reason = check_environment()
    if reason:
        print(f"gpu smoke: {reason}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    first, resume = prepare(out, args.model)
    for recipe, log, again in ((first, out / "run1.log", False), (resume, out / "run2.log", True)):
        rc = launch(recipe, out / "run", log, resume=again, timeout=max(1.0, BUDGET_S - (time.monotonic() - t0)))
        if rc != 0:
            print(f"gpu smoke: FAILED: the {'resumed' if again else 'first'} run exited {rc}; see {log}")
            return 1
        if not again:  # keep the first run's rows to compare with the resumed run's
            (out / "metrics-first-run.jsonl").write_bytes((out / "run" / "ckpt" / "metrics.jsonl").read_bytes())
    problems = check_run(out, time.monotonic() - t0)
    for p in problems:
        print(f"gpu smoke: FAILED: {p}")
    if not problems:
        print(f"gpu smoke: passed in {time.monotonic() - t0:.0f} s ({out})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
