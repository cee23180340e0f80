r"""Seconds per RL step: our embedded trainer vs TRL 1.16 ``GRPOTrainer`` vs the component limit.

One configuration for all three (defaults: 2 prompts × group 4 = 8 completions of exactly 64
tokens, fp32, no KL, one optimizer step per batch):

* **ours**: :func:`pretrainzero.rl.trainer.train` in ``random-rlpt`` mode (predictor only, exact
  match reward, GRPO, no group filtering so every step trains on all 8 sequences), with its
  default transformers sampler (the G samples of a prompt share one prefill; ``ours-noshare``
  turns that off, i.e. the plain batched ``generate`` the limit uses);
* **trl**: ``GRPOTrainer`` on the same model, the same rendered prompts in the same order
  (``shuffle_dataset=False``), ``num_generations=4``, ``per_device_train_batch_size=8``,
  ``beta=0``, ``loss_type="grpo"``, the same exact-match reward;
* **limit**: no framework: ``model.generate`` on the 8 rows + one forward/backward over the same
  tokens (completion logits only) + one AdamW step.

Completions are forced to exactly ``--completion-len`` tokens in all three (``min_new_tokens``:
TRL's ``generation_kwargs``; for ours the step's sampling parameters, set by wrapping the
trainer's step function), so the work per step is identical. Each prints the median seconds/step over ``--steps`` steps
after ``--warmup`` warm-up steps. ``--fast`` adds a row for our trainer with the fastest CPU
options we offer: bf16 weights (``dtype: bfloat16-pure``) and the shared prefill. bf16 is fast only
where the CPU has bf16 matrix instructions (AVX512-BF16 or AMX); without them torch emulates it
and a bf16 forward/backward is many times slower than fp32 (``--fast-dtype float32`` then).

    python benchmarks/trainer_vs_trl.py --model tiny28m --steps 5 --warmup 2 [--fast]
    python benchmarks/trainer_vs_trl.py --model smollm2-135m --fast

Each contestant runs in a fresh Python process (``--same-process``: all in this one), so nothing one
of them sets up (thread pools, allocator settings, a fragmented heap) carries over to the next.
Run it on a quiet machine: numbers taken while other processes share the cores are only
indicative. ``--only ours,trl,limit,fast`` runs a subset; ``--json FILE`` writes the numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CORPUS = "bench-trainer-vs-trl"


# --------------------------------------------------------------------------- models and prompts


def build_tiny28m(out: Path) -> Path:
    """Random-init Qwen2 (h384, 6 layers, 28.3M params) with the SmolLM2 tokenizer (offline-assets §2)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config

    from pretrainzero.models import resolve_model

    if (out / "config.json").exists():
        return out
    tok = AutoTokenizer.from_pretrained(resolve_model("smollm2-135m"))
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=384, intermediate_size=1024, num_hidden_layers=6,
                      num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=2048,
                      tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def model_path(name: str, cache: Path) -> str:
    from pretrainzero.models import resolve_model

    return str(build_tiny28m(cache / "tiny28m")) if name == "tiny28m" else resolve_model(name)


def paragraphs(n: int, words: int) -> tuple[str, ...]:
    """``n`` wiki-vital-en extracts cut to their first ``words`` words (equal-length prompts)."""
    from pretrainzero.corpus import get_corpus

    out = []
    for p in get_corpus("wiki-vital-en"):
        w = p.text.split()
        if len(w) >= words:
            out.append(" ".join(w[:words]))
        if len(out) == n:
            break
    return tuple(out)


def register_bench_corpus(texts: tuple[str, ...]) -> None:
    from pretrainzero.corpus.registry import register_corpus

    register_corpus(CORPUS, source=texts, min_chars=1, dedup=False)


def our_prompts(tokenizer: Any, args: argparse.Namespace, steps: int) -> list[tuple[str, str]]:
    """(rendered prompt, hidden span) as our trainer sees them, step by step (same stream, masker, seeds)."""
    from pretrainzero.masking import RandomSpanMasker
    from pretrainzero.prompts import prediction_prompt, render_prompt
    from pretrainzero.rl.data import ParagraphStream

    stream, masker, out = ParagraphStream(CORPUS, args.seed), RandomSpanMasker(), []
    for step in range(steps):
        rng = np.random.default_rng([args.seed, step])
        for p in stream.take(args.prompts):
            ex = masker(p.text, rng)
            assert ex is not None, "benchmark paragraphs must always be maskable"
            out.append((render_prompt(tokenizer, prediction_prompt(ex), "chat", ""), ex.answer))
    return out


# --------------------------------------------------------------------------- the three contestants


def run_ours(path: str, args: argparse.Namespace, *, dtype: str = "float32",
             shared_prefill: bool = True) -> list[float]:
    import pretrainzero.rl.trainer as trainer_mod
    from pretrainzero.rl.recipe import Recipe

    total = args.warmup + args.steps
    recipe = Recipe(
        name="bench", model=path, dtype=dtype, device="cpu", corpus=CORPUS, seed=args.seed, mode="random-rlpt",
        paragraphs_per_step=args.prompts, g_gen=1, g_pred=args.group, prompt_form="chat",
        max_response_tokens=args.completion_len, temperature=1.0, sampler_batch_size=args.prompts * args.group,
        algorithm="grpo", lr=1e-6, warmup_steps=0, schedule="constant", weight_decay=0.0,
        micro_batch_size=args.prompts * args.group, steps=total, save_every=10**6, heldout_n=0,
        eval_at_start=False, eval_at_end=False, filter_groups=False, shared_prefill=shared_prefill,
    )
    orig_step = trainer_mod.pretrainzero_step

    def step_forced(engine: Any, tok: Any, paragraphs: Any, cfg: Any, rng: Any, **k: Any) -> Any:
        forced = dataclasses.replace(cfg.pred_params, min_new_tokens=args.completion_len)  # exactly C tokens
        return orig_step(engine, tok, paragraphs, dataclasses.replace(cfg, pred_params=forced), rng, **k)

    trainer_mod.pretrainzero_step = step_forced  # the trainer's own step, plus the forced length
    try:
        with tempfile.TemporaryDirectory() as out:
            trainer_mod.train(recipe, out, progress=False, log=lambda s: None)
            rows = [json.loads(line) for line in open(Path(out) / "metrics.jsonl") if line.strip()]
    finally:
        trainer_mod.pretrainzero_step = orig_step
    rows = [r for r in rows if r.get("phase") != "sft"]
    lens = {r["predictor_response_len"] for r in rows}
    assert lens == {float(args.completion_len)}, f"completion lengths {lens}, expected {args.completion_len}"
    return [r["time_step"] for r in rows[args.warmup :]]


def run_trl(path: str, prompts: list[tuple[str, str]], args: argparse.Namespace) -> list[float]:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from pretrainzero.game import PredictionRule
    from pretrainzero.models import load_model

    model, tok = load_model(path, dtype="float32")
    ds = Dataset.from_dict({"prompt": [p for p, _ in prompts], "answer": [a for _, a in prompts]})

    def exact_span(prompts: list[str], completions: list[str], answer: list[str], **_: Any) -> list[float]:
        return [PredictionRule().score(c, a) for c, a in zip(completions, answer, strict=True)]

    times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self.t = time.perf_counter()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            times.append(time.perf_counter() - self.t)

    with tempfile.TemporaryDirectory() as out:
        cfg = GRPOConfig(
            output_dir=out, per_device_train_batch_size=args.prompts * args.group, num_generations=args.group,
            gradient_accumulation_steps=1, max_completion_length=args.completion_len, temperature=1.0,
            generation_kwargs={"min_new_tokens": args.completion_len}, beta=0.0, loss_type="grpo",
            learning_rate=1e-6, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0,
            max_steps=args.warmup + args.steps, use_cpu=True, bf16=False, fp16=False, report_to=[],
            save_strategy="no", logging_steps=1, shuffle_dataset=False, seed=args.seed, disable_tqdm=True,
            dataloader_num_workers=0,
        )
        trainer = GRPOTrainer(model=model, reward_funcs=[exact_span], args=cfg, train_dataset=ds,
                              processing_class=tok, callbacks=[Timer()])
        torch.manual_seed(args.seed)
        trainer.train()
    return times[args.warmup :]


def run_limit(path: str, prompts: list[tuple[str, str]], args: argparse.Namespace) -> list[float]:
    """Plain generate + one forward/backward over the same tokens + AdamW: no framework."""
    import torch

    from pretrainzero.models import load_model

    model, tok = load_model(path, dtype="float32")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.0)
    C, times = args.completion_len, []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        chunk = prompts[step * args.prompts : (step + 1) * args.prompts]
        enc = tok([p for p, _ in chunk for _ in range(args.group)], return_tensors="pt", padding=True,
                  add_special_tokens=False)
        model.eval()
        with torch.no_grad():
            out = model.generate(**enc, do_sample=True, temperature=1.0, top_k=0, max_new_tokens=C, min_new_tokens=C,
                                 pad_token_id=tok.pad_token_id)
        att = torch.cat([enc["attention_mask"], torch.ones(out.shape[0], C, dtype=torch.long)], 1)
        pos = (att.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=out, attention_mask=att, position_ids=pos, logits_to_keep=C + 1).logits[:, :-1].float()
        logp = torch.log_softmax(logits, -1).gather(-1, out[:, -C:, None]).squeeze(-1)
        adv = torch.randn(out.shape[0], 1)
        loss = -(logp * adv).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    return times[args.warmup :]


def in_own_process(name: str, args: argparse.Namespace) -> list[float]:
    """Time one contestant in a fresh Python process: nothing one contestant sets up (thread pools,
    allocator settings, imported libraries' state, a fragmented heap) carries over to the next."""
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "times.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--only", name, "--same-process", "--json", str(out),
               "--model", args.model, "--prompts", str(args.prompts), "--group", str(args.group),
               "--completion-len", str(args.completion_len), "--paragraph-words", str(args.paragraph_words),
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--fast-dtype", args.fast_dtype,
               "--seed", str(args.seed), "--cache", args.cache]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{name} failed:\n{(done.stdout + done.stderr)[-4000:]}")
        return json.loads(out.read_text())[name]["times"]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="tiny28m", help="tiny28m (random 28M Qwen2), smollm2-135m, or a model path")
    ap.add_argument("--prompts", type=int, default=2, help="unique prompts per step")
    ap.add_argument("--group", type=int, default=4, help="completions per prompt (group size)")
    ap.add_argument("--completion-len", type=int, default=64)
    ap.add_argument("--paragraph-words", type=int, default=40, help="paragraph length in words (prompt size)")
    ap.add_argument("--steps", type=int, default=5, help="measured steps (median)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--fast", action="store_true", help="also time our trainer with --fast-dtype + shared prefill")
    ap.add_argument("--fast-dtype", default="bfloat16-pure", choices=("bfloat16-pure", "bfloat16", "float32"),
                    help="recipe dtype of the fast row (bf16 pays only on CPUs with AVX512-BF16/AMX)")
    ap.add_argument("--only", default="ours,trl,limit",
                    help="comma list of limit, ours, ours-noshare (no shared prefill), trl, fast")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "pretrainzero-bench"))
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--same-process", action="store_true",
                    help="run every contestant in this process (default: each in a fresh one)")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    which = set(args.only.split(",")) | ({"fast"} if args.fast else set())
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    path = model_path(args.model, cache)
    total = args.warmup + args.steps
    register_bench_corpus(paragraphs(args.prompts * total * 2, args.paragraph_words))
    from pretrainzero.models import load_model

    _, tok = load_model(path)
    prompts = our_prompts(tok, args, total)
    print(f"model {args.model}: {args.prompts} prompts x group {args.group} = {args.prompts * args.group} completions "
          f"of {args.completion_len} tokens, prompt ~{len(tok(prompts[0][0])['input_ids'])} tokens, "
          f"median of {args.steps} steps after {args.warmup} warm-up, torch threads {torch.get_num_threads()}",
          flush=True)

    res: dict[str, Any] = {"model": args.model, "config": vars(args)}
    runners = {
        "limit": lambda: run_limit(path, prompts, args),
        "ours": lambda: run_ours(path, args),
        "trl": lambda: run_trl(path, prompts, args),
        "ours-noshare": lambda: run_ours(path, args, shared_prefill=False),
        "fast": lambda: run_ours(path, args, dtype=args.fast_dtype, shared_prefill=True),
    }
    for name in ("limit", "ours", "ours-noshare", "trl", "fast"):
        if name in which:
            times = runners[name]() if args.same_process or len(which) == 1 else in_own_process(name, args)
            res[name] = {"median_s": statistics.median(times), "times": times}
            steps = ", ".join(f"{t:.2f}" for t in times)
            print(f"  {name:12s} {statistics.median(times):7.2f} s/step   (steps: {steps})", flush=True)
    med = {k: v["median_s"] for k, v in res.items() if isinstance(v, dict) and "median_s" in v}
    if "ours" in med and "trl" in med:
        print(f"ours / trl           = {med['ours'] / med['trl']:.2f}  (seconds per step; < 1 is faster)")
    if "limit" in med:
        for k in ("ours", "ours-noshare", "trl"):
            if k in med:
                print(f"{k} efficiency       = {med['limit'] / med[k]:.2f}  "
                      f"(component limit / {k}; target for ours >= 0.95)")
    if "fast" in med and "trl" in med:
        print(f"fast / trl           = {med['fast'] / med['trl']:.2f}  (target <= 0.60)")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
