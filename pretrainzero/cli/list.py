"""`pretrainzero list envs|corpora`: what is registered (reads no corpus data)."""

from __future__ import annotations

import argparse


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

        for spec in list_corpora():
            print(f"{spec.name}\tv{spec.version}\t{','.join(spec.tasks)}\t{spec.describe_source()}")
        return 0
    from pretrainzero.envs.registration import list_envs

    for env_id in list_envs():
        if args.corpus and not env_id.startswith(f"pretrainzero/{args.corpus}-"):
            continue
        if args.task and f"-{args.task}-v" not in env_id:
            continue
        print(env_id)
    return 0
