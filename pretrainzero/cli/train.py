"""`pretrainzero train`: run a recipe with the embedded trainer (CPU or one GPU).

    pretrainzero train --recipe agents/smollm2-135m-cpu.yaml
    pretrainzero train --recipe agents/tiny-test.yaml --steps 2 --set lr=1e-4 --set sft.steps=5
    pretrainzero train --recipe agents/smollm2-135m-cpu.yaml --out runs/demo --resume
    pretrainzero train --recipe agents/smollm2-135m-cpu.yaml --out runs/demo --overwrite

A non-empty --out is refused unless --resume (continue it) or --overwrite (delete it first) is given.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train a model with PretrainZero (embedded trainer)",
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..rl.recipe import load_recipe

    overrides = list(args.overrides) + ([f"steps={args.steps}"] if args.steps is not None else [])
    recipe = load_recipe(args.recipe, overrides)  # validated before any model loads
    out = Path(args.out or Path("runs") / recipe.name)

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
