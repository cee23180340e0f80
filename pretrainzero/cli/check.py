"""`pretrainzero check ENV_ID`: run the env checks of :mod:`pretrainzero.envs.checks`.

Gymnasium's ``check_env``; the oracle's mean reward is 1.0 on prediction envs; every oracle mask
is valid on envs with mask turns; the random agent's mean reward stays at or below
``--random-max``. Prints one line per check; exit code 1 on any failure.
"""

from __future__ import annotations

import argparse

from ..errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="check_env + oracle + random sanity checks", description=__doc__
    )
    parser.add_argument("env_id")
    parser.add_argument("-n", "--episodes", type=int, default=200, help="episodes per agent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-max", type=float, default=0.1, help="highest acceptable random mean reward")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import gymnasium

    import pretrainzero  # noqa: F401
    from pretrainzero.envs.checks import run_checks
    from pretrainzero.envs.registration import resolve_env_id

    if args.episodes < 1:
        raise UserError(f"-n {args.episodes}: give at least 1 episode per agent")
    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: seeds are >= 0")
    env_id = resolve_env_id(args.env_id)
    checks = run_checks(gymnasium.make(env_id), args.episodes, args.seed, args.random_max)
    for c in checks:
        print(c.line())
    failed = [c for c in checks if not c.ok]
    print(f"{env_id}: " + ("PASS" if not failed else f"{len(failed)} check(s) failed"))
    return 0 if not failed else 1
