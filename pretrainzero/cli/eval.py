"""`pretrainzero eval`: run benchmarks under a protocol and write results JSON + per-sample JSONL.

    pretrainzero eval --model smollm2-135m --benchmarks gsm8k,aime25 --protocol pz-0shot-boxed \\
        --limit 50 --max-new-tokens 512 --out runs/eval

`pretrainzero eval audit --benchmarks gsm8k,mmlu [--data-dir D]` checks the grader instead: for
every item the gold, written as a model would answer, must grade correct and another item's
answer must grade wrong (self-grade and false-accept rates; exit status 1 when either fails).

An interrupted run resumes from ``<out>/cache/`` (or ``--cache-dir``) without regenerating
finished samples. Bad input (unknown benchmark or protocol, missing data, bad backend options)
prints one line and exits with status 2. torch is imported only when a run starts.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import UserError
from ._args import check_folder_arg


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "eval", help="evaluate a model on benchmarks under a frozen protocol",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", nargs="?", choices=("run", "audit"), default="run",
                   help="run (default): evaluate a model; audit: grade every item's own gold and another item's")
    p.add_argument("--model", default=None, help="alias (smollm2-135m), local checkpoint dir, HF id, or the "
                                                  "served model name for --backend openai")
    p.add_argument("--model-name", default=None, help="display name for the row id (default: derived from --model)")
    p.add_argument("--benchmarks", required=True, help="comma-separated benchmark ids, e.g. gsm8k,mmlu")
    p.add_argument("--protocol", default=None, help="protocol id, e.g. pz-0shot-boxed (audit: default pz-0shot-boxed)")
    p.add_argument("--backend", default="transformers", choices=("transformers", "vllm", "openai"))
    p.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--route", default="auto", choices=("auto", "chat", "completions"),
                   help="openai: chat route for chat prompts, completions for text (auto), or force one")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="env var holding the API key (openai)")
    p.add_argument("--concurrency", type=int, default=8, help="parallel requests (openai)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per request attempt (openai)")
    p.add_argument("--max-retries", type=int, default=5,
                   help="retries of a request after a timeout, refused connection, 429/5xx or empty reply (openai)")
    p.add_argument("--data-dir", default=None, help="folder with the official benchmark files")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N questions (recorded as a subset)")
    p.add_argument("--subset-seed", type=int, default=None,
                   help="with --limit: a seeded, category-stratified sample of N questions instead of the first N")
    p.add_argument("--allow-partial", action="store_true",
                   help="accept a benchmark file whose row count is not the official one (a partial or custom "
                        "file); the record is labelled as a subset")
    p.add_argument("--k", type=int, default=None, help="samples per question (mean@k); default: the protocol's")
    p.add_argument("--max-new-tokens", type=int, default=None,
                   help="override the protocol's budget (recorded as a protocol deviation)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    p.add_argument("--seed", type=int, default=None, help="run seed (default: the protocol's)")
    p.add_argument("--vllm-kwargs", default=None, metavar="JSON",
                   help='extra vllm.LLM arguments (vllm), e.g. \'{"enforce_eager": true, "max_model_len": 4096}\'')
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (transformers backend)")
    p.add_argument("--out", default="runs/eval", help="output folder for <id>.json and samples/<id>.jsonl")
    p.add_argument("--cache-dir", default=None, help="per-sample cache folder (default: <out>/cache)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-lm-eval", action="store_true",
                   help="skip the lm-evaluation-harness copy of the run (<out>/lm-eval/<model>/results_*.json)")
    p.set_defaults(func=run)


def _config(args: argparse.Namespace) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "model": args.model, "benchmarks": args.benchmarks, "protocol": args.protocol, "backend": args.backend,
        "limit": args.limit, "seed": args.seed, "k": args.k, "max_new_tokens": args.max_new_tokens,
        "batch_size": args.batch_size, "dtype": args.dtype, "data_dir": args.data_dir,
        "subset_seed": args.subset_seed, "allow_partial": bool(args.allow_partial),
    }
    if args.model_name:
        cfg["model_name"] = args.model_name
    if args.backend == "openai":
        cfg["base_url"] = args.base_url
        cfg["route"] = args.route
    return cfg


def _vllm_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    if args.vllm_kwargs is None:
        return {}
    if args.backend != "vllm":
        raise ValueError(f"--vllm-kwargs applies to --backend vllm, not {args.backend}")
    try:
        kwargs = json.loads(args.vllm_kwargs)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--vllm-kwargs must be a JSON object ({exc}), e.g. '{{\"enforce_eager\": true}}'") from None
    if not isinstance(kwargs, dict):
        raise ValueError(f"--vllm-kwargs must be a JSON object, got {args.vllm_kwargs!r}")  # noqa: TRY004
    return kwargs


def _audit(args: argparse.Namespace) -> int:
    from ..eval.audit import audit_benchmark
    from ..eval.benchmarks import get_spec, load_benchmark
    from ..eval.protocols import get_protocol

    check_folder_arg(args.data_dir, "--data-dir", must_exist=True)
    protocol = get_protocol(args.protocol or "pz-0shot-boxed")
    names = [b.strip() for b in args.benchmarks.split(",") if b.strip()]
    for name in names:
        if not protocol.supports(name):
            get_spec(name)  # an unknown name gets its own message first
            raise UserError(f"protocol {protocol.id!r} does not cover benchmark {name!r}")
    reports = [audit_benchmark(load_benchmark(n, args.data_dir, check_rows=not args.allow_partial), protocol,
                               limit=args.limit) for n in names]
    for rep in reports:
        print(rep.summary())
        for failure in rep.failures:
            print(f"  FAIL {failure.line()}")
    return 0 if all(r.ok for r in reports) else 1


def run(args: argparse.Namespace) -> int:
    if args.action == "audit":
        return _audit(args)
    missing = [flag for flag, value in (("--model", args.model), ("--protocol", args.protocol)) if not value]
    if missing:
        raise UserError(f"eval needs {' and '.join(missing)} (or `pretrainzero eval audit --benchmarks ...`)")
    from ..eval.runner import run_evals

    check_folder_arg(args.out, "--out")
    check_folder_arg(args.cache_dir, "--cache-dir")
    check_folder_arg(args.data_dir, "--data-dir", must_exist=True)
    if args.backend != "openai":  # a served model's name is the server's business
        from ..models import check_model_reference

        check_model_reference(args.model)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    # expected failures (bad input, a missing backend/grader/benchmark, a failing endpoint) go to
    # the one handler in `pretrainzero.cli.main`: one line, exit 2
    vllm_kwargs = _vllm_kwargs(args)
    records = run_evals(
        _config(args), args.out, cache_dir=args.cache_dir, progress=not args.no_progress, log=log,
        lm_eval=not args.no_lm_eval,
        backend_options={"api_key_env": args.api_key_env, "concurrency": args.concurrency,
                         "timeout_s": args.timeout, "max_retries": args.max_retries, **vllm_kwargs},
    )
    for rec in records:
        m = rec["metrics"]
        label = f" [{rec['subset']['label']}]" if rec.get("subset") else ""
        dev = rec["config"].get("protocol_deviations") or []
        print(json.dumps({"id": rec["id"], "score": round(m["score"], 4), "stderr": round(m["stderr"], 4),
                          "miss_rate": round(m["miss_rate"], 4), "truncation_rate": round(m["truncation_rate"], 4),
                          "subset": label.strip(" []") or None, "deviations": dev,
                          "file": f"{args.out}/{rec['id']}.json"}))
    return 0
