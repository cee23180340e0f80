"""`pretrainzero export`: write an env's episodes as an OpenRLHF prompt file.

    pretrainzero export pretrainzero/wiki-vital-en-MaskedSpan-v0 --n 64000 --out prompts.jsonl

Each line holds the first observation and a label naming the episode, which the stock OpenRLHF
plug-in (pretrainzero/openrlhf/stock_agent.py) replays; see README "Many GPUs".
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="write an env's episodes as an OpenRLHF prompt file",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("env", metavar="ENV_ID", help="registered env id (the pretrainzero/ prefix may be left out)")
    p.add_argument("--n", type=int, required=True, help="episodes (prompts) to write")
    p.add_argument("--out", required=True, help="JSONL file to write")
    p.add_argument("--seed", type=int, default=0, help="seed of the episode stream (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..openrlhf import export_prompts

    path = export_prompts(args.env, args.n, args.out, seed=args.seed)
    print(f"wrote {args.n} prompts to {path}")
    return 0
