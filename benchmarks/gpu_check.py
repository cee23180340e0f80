"""One prepared device check for the embedded trainer: bf16 compute on fp32 masters, resume, tokens/s.

For a machine lent with one GPU (torch + transformers, no network, no vllm/deepspeed/ray): the
trainer with the transformers engine on CUDA trains a tiny random Llama built on the spot (head
dim 64, so attention kernels are the real ones) for a few steps at the paper's lr 5e-7 with
``dtype: bfloat16``, and the check reports

- whether every step's loss was finite and how many parameters moved (the paper recipe's dtype
  must move >= 99% of them at lr 5e-7; pure bf16 would round most updates away),
- the dtype of the saved weights (fp32 masters),
- the run resumed from its half-way checkpoint against the uninterrupted run (max |weight
  difference|: 0 on CPU, where the trainer is bitwise resumable; CUDA kernels may differ in the
  last bits),
- the transformers engine's decode throughput (new tokens/s) on the same model.

It runs anywhere (``--device cpu`` is what the test suite runs, with fewer tokens); on a GPU:

    python benchmarks/gpu_check.py --device cuda --out "$OUT"     # well under 8 minutes on one H200

The packages it needs beyond torch/transformers/tokenizers are pretrainzero's own (gymnasium,
pydantic, pyyaml, tqdm, numpy, datasets): carry them as wheels where the machine lacks them.
A JSON summary goes to ``<out>/gpu_check.json``; exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEXTS = tuple(f"Paragraph {i}. The river Seine flows through Paris, the capital of France. Paris has {i} bridges, "
              f"{i % 7} islands and many museums." for i in range(200))
# random-rlpt needs no valid generated masks; the toy length reward gives a random model varied rewards,
# so every group has a non-zero advantage and the update is real
LEARNING = ("mode=random-rlpt", "predictor_reward=tests/user_algo_example.py:length_reward",
            "algorithm=dapo", "filter_groups=false", "save_every=2", "paragraphs_per_step=4", "g_pred=4",
            "max_response_tokens=16", "micro_batch_size=8")


def _changed_fraction(before: dict, after: dict) -> float:
    changed = sum(int((after[k].float() != before[k].float()).sum()) for k in after)
    return changed / sum(v.numel() for v in after.values())


def _max_diff(a: dict, b: dict) -> float:
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--out", default="runs/gpu-check", help="work folder; gpu_check.json is written here")
    ap.add_argument("--hidden", type=int, default=256, help="tiny model width (4 heads of 64 at 256)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--steps", type=int, default=4, help="training steps of the uninterrupted run (even)")
    ap.add_argument("--lr", type=float, default=5e-7)
    ap.add_argument("--decode-tokens", type=int, default=256, help="new tokens per row in the throughput check")
    ap.add_argument("--decode-rows", type=int, default=64)
    args = ap.parse_args()

    import torch
    from safetensors.torch import load_file

    from pretrainzero.corpus import register_corpus
    from pretrainzero.engines import SamplingParams
    from pretrainzero.engines.hf import TransformersEngine
    from pretrainzero.models import build_tiny_model, load_model
    from pretrainzero.rl.checkpoint import checkpoint_step, list_checkpoints
    from pretrainzero.rl.metrics import read_metrics
    from pretrainzero.rl.recipe import load_recipe
    from pretrainzero.rl.trainer import train

    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device; use --device cpu", file=sys.stderr)
        return 2
    if args.steps < 2 or args.steps % 2:
        print("error: --steps must be an even number >= 2 (the resumed run stops half-way)", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    info: dict = {"device": args.device, "torch": torch.__version__}
    import transformers

    info["transformers"] = transformers.__version__
    if args.device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)

    model_dir = build_tiny_model(out / "model", vocab_size=1024, hidden_size=args.hidden, num_layers=args.layers)
    before = load_file(str(model_dir / "model.safetensors"))
    info["params"] = sum(v.numel() for v in before.values())
    register_corpus("gpu-check", source=TEXTS, min_chars=1)

    def run(name: str, steps: int, resume: bool = False):
        recipe = load_recipe(ROOT / "agents" / "tiny-test.yaml",
                             [f"model={model_dir}", "corpus=gpu-check", f"device={args.device}", "dtype=bfloat16",
                              f"lr={args.lr}", f"steps={steps}", *LEARNING])
        t0 = time.perf_counter()
        res = train(recipe, out / name, resume=resume, overwrite=not resume, progress=False, log=lambda s: None)
        return res, time.perf_counter() - t0

    full, t_full = run("full", args.steps)
    rows = read_metrics(full.metrics)
    after = load_file(str(full.checkpoint / "model.safetensors"))
    losses = [r.get("loss") for r in rows]
    info["train"] = {
        "status": full.status, "steps": len(rows), "seconds": round(t_full, 2),
        "losses": losses, "skipped_updates": sum(bool(r.get("skipped")) for r in rows),
        "changed_fraction": _changed_fraction(before, after),
        "saved_dtypes": sorted({str(v.dtype) for v in after.values()}),
    }
    # an interrupted run: the uninterrupted one's folder with every checkpoint after the half-way one removed
    shutil.rmtree(out / "resumed", ignore_errors=True)
    shutil.copytree(full.out_dir, out / "resumed")
    for ckpt in list_checkpoints(out / "resumed" / "checkpoints"):
        if checkpoint_step(ckpt) > args.steps // 2:
            shutil.rmtree(ckpt)
    resumed, _ = run("resumed", args.steps, resume=True)
    info["resume"] = {"status": resumed.status, "steps": resumed.steps_done,
                      "max_abs_weight_diff_vs_uninterrupted": _max_diff(
                          after, load_file(str(resumed.checkpoint / "model.safetensors")))}

    decode_dtype = "bfloat16" if args.device == "cuda" else "float32"
    model, tok = load_model(str(model_dir), dtype=decode_dtype, device=args.device)
    engine = TransformersEngine(model, tok, batch_size=args.decode_rows)
    prompts = [tok.apply_chat_template([{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True)
               for t in TEXTS[: args.decode_rows]]
    params = SamplingParams(temperature=1.0, max_new_tokens=args.decode_tokens, min_new_tokens=args.decode_tokens)
    engine.generate(prompts[:2], 1, SamplingParams(temperature=1.0, max_new_tokens=8), seeds=[0, 1])  # warm-up
    if args.device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    groups = engine.generate(prompts, 1, params, seeds=list(range(len(prompts))))
    if args.device == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    n_tokens = sum(len(c.token_ids) for g in groups for c in g)
    info["decode"] = {"rows": len(prompts), "new_tokens": n_tokens, "seconds": round(dt, 3),
                      "tokens_per_s": round(n_tokens / dt, 1), "dtype": decode_dtype}
    info["seconds"] = round(time.perf_counter() - t_all, 1)

    checks = {
        "finite losses": all(isinstance(x, float) and x == x and abs(x) != float("inf") for x in losses),
        "no skipped update": info["train"]["skipped_updates"] == 0,
        ">= 99% of parameters moved at the paper lr": info["train"]["changed_fraction"] >= 0.99,
        "fp32 master weights saved": info["train"]["saved_dtypes"] == ["torch.float32"],
        "resume completed": resumed.status == "completed" and resumed.steps_done == args.steps,
        "every decode row reached its token budget": n_tokens == len(prompts) * args.decode_tokens,
    }
    if args.device == "cpu":  # bitwise resume is promised on CPU; on CUDA the difference is reported
        checks["resume bitwise equal to the uninterrupted run"] = (
            info["resume"]["max_abs_weight_diff_vs_uninterrupted"] == 0.0)
    info["checks"] = checks
    (out / "gpu_check.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info, indent=1))
    failed = [k for k, ok in checks.items() if not ok]
    print("FAILED: " + "; ".join(failed) if failed else "all checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
