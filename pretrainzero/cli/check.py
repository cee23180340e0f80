"""`pretrainzero check ENV_ID`: Gymnasium's env checker, then the oracle and random agents.

Passes when ``check_env`` passes, the oracle scores a mean reward of 1.0 (``MaskGeneration``:
every oracle mask is valid, since its reward depends on the predictor) and the random agent's
mean reward stays at or below ``--random-max``. Exit code 1 on any failure.
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


def check(env_id: str, episodes: int = 200, seed: int = 0, random_max: float = 0.1) -> list[str]:
    """Failures of ``env_id`` (empty when it passes); prints one line per check."""
    import warnings

    import gymnasium
    from gymnasium.utils.env_checker import check_env

    from pretrainzero.agents import OracleAgent, RandomAgent, play
    from pretrainzero.cli.play import summary

    failures = []
    env = gymnasium.make(env_id).unwrapped
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # render-fps style advice is not a failure
            check_env(env, skip_render_check=True)
        print(f"ok    check_env {env_id}")
    except Exception as exc:  # noqa: BLE001  (report every checker failure the same way)
        failures.append(f"check_env: {type(exc).__name__}: {exc}")
        print(f"FAIL  check_env: {exc}")
    oracle = play(env, OracleAgent(), episodes, seed=seed)
    print(summary(env_id, "oracle", oracle))
    generator_only = "MaskGeneration" in env_id
    if generator_only and oracle.mask_valid_rate != 1.0:
        failures.append(f"oracle valid-mask rate {oracle.mask_valid_rate} != 1.0")
    if not generator_only and oracle.mean_reward != 1.0:
        failures.append(f"oracle mean reward {oracle.mean_reward:.4f} != 1.0")
    rand = play(env, RandomAgent(seed=seed), episodes, seed=seed + 1)
    print(summary(env_id, "random", rand))
    if rand.mean_reward > random_max:
        failures.append(f"random mean reward {rand.mean_reward:.4f} > {random_max}")
    return failures


def run(args: argparse.Namespace) -> int:
    import pretrainzero  # noqa: F401
    from pretrainzero.envs.registration import resolve_env_id

    if args.episodes < 1:
        raise UserError(f"-n {args.episodes}: give at least 1 episode per agent")
    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: seeds are >= 0")
    failures = check(resolve_env_id(args.env_id), args.episodes, args.seed, args.random_max)
    for f in failures:
        print(f"FAIL  {f}")
    print("PASS" if not failures else f"{len(failures)} check(s) failed")
    return 0 if not failures else 1
