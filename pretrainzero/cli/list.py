"""`pretrainzero list envs|corpora|benchmarks|protocols|algorithms|recipes`: what can be named.

Reads no corpus or benchmark data: envs and corpora come from the registries, benchmarks and
protocols from the eval registries, algorithms from the RL registry, recipes from the shipped
``agents/`` folder.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import UserError

WHAT = ("envs", "corpora", "benchmarks", "protocols", "algorithms", "recipes")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list", help="list registered envs, corpora, benchmarks, protocols, algorithms or recipes",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("what", choices=WHAT)
    parser.add_argument("--corpus", help="envs: only envs of this corpus")
    parser.add_argument("--task", help="envs: only envs of this task (e.g. MaskedSpan)")
    parser.set_defaults(func=run)


def lines(what: str, corpus: str | None = None, task: str | None = None) -> list[str]:
    """The rows ``list WHAT`` prints (tab-separated columns)."""
    if what == "corpora":
        import pretrainzero  # noqa: F401  (registers the built-in corpora)
        from pretrainzero.corpus import list_corpora

        return [f"{s.name}\tv{s.version}\t{','.join(s.tasks)}\t{s.describe_source()}" for s in list_corpora()]
    if what == "envs":
        import pretrainzero  # noqa: F401
        from pretrainzero.corpus import get_spec
        from pretrainzero.envs.registration import TASKS, list_envs

        if corpus:
            get_spec(corpus)  # an unknown name is an error (with close matches), not an empty list
        if task and task not in TASKS:
            raise UserError(f"--task {task!r}: no such task; choose from {', '.join(TASKS)}")
        return [
            env_id
            for env_id in list_envs()
            if (not corpus or env_id.startswith(f"pretrainzero/{corpus}-")) and (not task or f"-{task}-v" in env_id)
        ]
    if what == "benchmarks":
        from pretrainzero.eval.benchmarks import BENCHMARKS

        return [
            f"{b.name}\t{b.kind}\t{'packaged' if b.packaged else b.hf_id or 'data-dir'}\t{b.title}"
            for b in sorted(BENCHMARKS.values(), key=lambda b: b.name)
        ]
    if what == "protocols":
        from pretrainzero.eval.protocols import PROTOCOLS

        return [f"{p.id}\tv{p.version}\t{','.join(p.benchmarks)}\t{p.description}" for p in PROTOCOLS.values()]
    if what == "algorithms":
        from pretrainzero.rl.algorithms import ALGORITHMS, resolve_algorithm

        out = []
        for name in ALGORITHMS:
            module = sys.modules[resolve_algorithm(name).__module__]  # one file per algorithm
            doc = (module.__doc__ or "").strip().splitlines()
            out.append(f"{name}\t{doc[0] if doc else ''}")
        return [*out, "module:Class\tyour own (advantages + loss), e.g. mypkg.algo:SignedReinforce"]
    from pretrainzero.rl.recipe import list_recipes

    out = []
    for path in list_recipes():
        first = path.read_text(encoding="utf-8").splitlines()[:1]
        note = first[0].lstrip("# ").strip() if first and first[0].startswith("#") else ""
        out.append(f"{path.stem}\t{path}\t{note}")
    return out


def run(args: argparse.Namespace) -> int:
    rows = lines(args.what, args.corpus, args.task)
    if rows:
        print("\n".join(rows))  # a reader that left (`| head`) is handled once, in cli.main
    return 0
