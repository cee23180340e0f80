"""`pretrainzero list envs|corpora`: what is registered (reads no corpus data)."""

from __future__ import annotations

import argparse
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("list", help="list registered envs or corpora", description=__doc__)
    parser.add_argument("what", choices=("envs", "corpora"))
    parser.add_argument("--corpus", help="only envs of this corpus")
    parser.add_argument("--task", help="only envs of this task (e.g. MaskedSpan)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pretrainzero  # noqa: F401  (registers the built-in corpora and their envs)

    if args.what == "corpora":
        from pretrainzero.corpus import list_corpora

        lines = [
            f"{s.name}\tv{s.version}\t{','.join(s.tasks)}\t{s.describe_source()}" for s in list_corpora()
        ]
    else:
        from pretrainzero.envs.registration import list_envs

        lines = [
            env_id
            for env_id in list_envs()
            if (not args.corpus or env_id.startswith(f"pretrainzero/{args.corpus}-"))
            and (not args.task or f"-{args.task}-v" in env_id)
        ]
    try:
        if lines:
            print("\n".join(lines))
        sys.stdout.flush()
    except BrokenPipeError:  # `pretrainzero list envs | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
