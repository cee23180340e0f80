"""`pretrainzero train`: run a recipe with the embedded trainer (CPU or one GPU) or on many GPUs.

    pretrainzero train --recipe agents/smollm2-135m-cpu.yaml
    pretrainzero train --recipe agents/tiny-test.yaml --steps 2 --set lr=1e-4 --set sft.steps=5
    pretrainzero train --recipe agents/smollm2-135m-cpu.yaml --out runs/demo --resume
    pretrainzero train --recipe agents/smollm2-135m-cpu.yaml --out runs/demo --overwrite
    pretrainzero train --backend openrlhf --recipe agents/paper-qwen3-4b.yaml --dry-run
    pretrainzero train --backend openrlhf --recipe agents/paper-qwen3-30b-a3b.yaml --nodes 2 \
        --ray-address http://HEAD_IP:8265 --dry-run

A non-empty --out is refused unless --resume (continue it) or --overwrite (delete it first) is given.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
from pathlib import Path
from typing import Any

from ..errors import UserError
from ._args import check_folder_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train",
                              help="train a model with PretrainZero (embedded trainer, or OpenRLHF on many GPUs)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", required=True, help="YAML recipe (path, or a name in agents/)")
    p.add_argument("--steps", type=int, help="override the recipe's number of RL steps")
    p.add_argument("--out", help="run directory (default: runs/<recipe name>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its newest intact checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="delete the contents of a non-empty --out run folder first (otherwise it is refused)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe field (dots for nested fields, e.g. sft.steps=10); repeatable")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (log lines instead)")
    g = p.add_argument_group("many GPUs (--backend openrlhf: OpenRLHF 0.11.2, Ray + DeepSpeed + vLLM)")
    g.add_argument("--backend", choices=("embedded", "openrlhf"), default="embedded",
                   help="embedded: this package's trainer; openrlhf: the recipe's openrlhf: section on OpenRLHF")
    g.add_argument("--dry-run", action="store_true", help="print the OpenRLHF command and exit (imports no ray)")
    g.add_argument("--nodes", type=int, help="override openrlhf.nodes")
    g.add_argument("--gpus-per-node", type=int, help="override openrlhf.gpus_per_node")
    g.add_argument("--ray-address", metavar="URL",
                   help="submit to a running Ray cluster (its dashboard, e.g. http://HEAD_IP:8265) "
                        "with `ray job submit`")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..rl.recipe import load_recipe

    overrides = list(args.overrides) + ([f"steps={args.steps}"] if args.steps is not None else [])
    recipe = load_recipe(args.recipe, overrides)  # validated before any model loads
    out = Path(args.out or Path("runs") / recipe.name)
    check_folder_arg(out, "--out")  # a file anywhere in the path: one line naming --out
    if args.backend == "openrlhf":
        return run_openrlhf(args, recipe, overrides, out)
    for flag in ("dry_run", "nodes", "gpus_per_node", "ray_address"):
        if getattr(args, flag):
            raise UserError(f"--{flag.replace('_', '-')} needs --backend openrlhf")

    from ..rl.trainer import format_heldout, train

    result = train(recipe, out, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress)
    print(f"status:     {result.status} ({result.steps_done} steps logged)")
    print(f"report:     {result.report}")
    print(f"plots:      {result.plot or 'none'}")
    print(f"metrics:    {result.metrics}")
    print(f"checkpoint: {result.checkpoint or 'none'}")
    if result.heldout:
        for when, h in result.heldout.items():
            print(f"held-out {when}: {format_heldout(h)}")
    return 0 if result.status == "completed" else 1


def run_openrlhf(args: argparse.Namespace, recipe: Any, overrides: list[str], out: Path) -> int:
    """Print (``--dry-run``) or start the OpenRLHF command for ``recipe``; refusals are one line."""
    import os
    import shutil
    import subprocess
    import sys

    from ..models import SMOLLM2_ALIAS, convert_smollm2
    from ..openrlhf.launch import plan
    from ..rl.recipe import find_recipe

    for flag in ("nodes", "gpus_per_node"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag.replace('_', '-')} must be >= 1")
    recipe_path = find_recipe(args.recipe)
    two_role = recipe.openrlhf is not None and recipe.openrlhf.agent == "two-role"
    if overrides and two_role:  # the trainer reads the recipe file: give it the one with the overrides applied
        recipe_path = out / "recipe.yaml"
        write_recipe(recipe, recipe_path)
    launch = plan(recipe, recipe_path, out=out, nodes=args.nodes, gpus_per_node=args.gpus_per_node,
                  resume=args.resume)
    for w in launch.warnings:
        print(f"warning: {w}", file=sys.stderr)
    line = launch.ray_job_submit(args.ray_address) if args.ray_address else launch.shell()
    if args.dry_run:
        print(line)
        return 0
    ckpt = out / "ckpt"
    if ckpt.is_dir() and any(ckpt.iterdir()) and not args.resume:
        if not args.overwrite:
            raise UserError(f"--out {out} already holds an OpenRLHF run ({ckpt}); pass --resume to continue it "
                             "or --overwrite to start over")
        for name in ("ckpt", "final", "tensorboard"):  # only what the launched run writes
            shutil.rmtree(out / name, ignore_errors=True)
    missing = [m for m in ("ray", "vllm", "deepspeed", "openrlhf") if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(f"OpenRLHF stack missing ({', '.join(missing)}): on a CUDA machine "
                         "`pip install 'pretrainzero[openrlhf]'`; or --dry-run to see the command")
    if recipe.model == SMOLLM2_ALIAS:
        convert_smollm2()  # the embedded alias becomes the HF checkpoint the command names
    print(line, flush=True)
    if args.ray_address:
        if shutil.which("ray") is None:
            raise UserError("the `ray` command is not on PATH (pip install 'ray[default]')")
        return subprocess.call(shlex.split(line))
    return subprocess.call(list(launch.argv), env={**os.environ, **launch.env})


def write_recipe(recipe: Any, path: Path) -> None:
    """The resolved recipe as YAML (loads back to an equal recipe), written atomically."""
    import yaml

    from ..fileio import atomic_write_text

    def plain(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        return x

    atomic_write_text(path, yaml.safe_dump(plain(recipe.to_dict()), sort_keys=False))
