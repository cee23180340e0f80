"""`pretrainzero play ENV_ID --agent oracle|random -n N [--show]`: run episodes with a reference agent.

``--show`` first prints one whole episode, turn by turn: the observation the agent saw, its
action and the reward (and, for mask turns, whether the mask was valid).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..errors import UserError

if TYPE_CHECKING:
    from pretrainzero.agents import PlayStats


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "play", help="play an env with the oracle or random agent", description=__doc__
    )
    parser.add_argument("env_id", help="e.g. pretrainzero/wiki-vital-en-MaskedSpan-v1")
    parser.add_argument("--agent", choices=("oracle", "random"), default="oracle")
    parser.add_argument("-n", "--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--show", action="store_true", help="print one episode first: observation, action, reward per turn"
    )
    parser.set_defaults(func=run)


def summary(env_id: str, agent: str, stats: PlayStats) -> str:
    """One line: mean reward, valid-mask rate where masks were proposed, episodes/s."""
    valid = stats.mask_valid_rate
    extra = f"  valid masks {valid:.3f}" if valid is not None else ""
    return (
        f"{env_id}  agent={agent}  episodes={stats.episodes}  mean reward {stats.mean_reward:.4f}"
        f"{extra}  {stats.episodes_per_s:,.0f} episodes/s"
    )


def show_episode(env: Any, agent: Any, seed: int) -> list[str]:
    """One episode of ``env`` played by ``agent`` as printable lines (observation, action, reward)."""
    obs, info = env.reset(seed=seed)
    lines = [f"paragraph {info.get('paragraph_id')}  episode seed {info.get('seed')}"]
    done, turn = False, 0
    while not done:
        turn += 1
        action = agent.act([obs], [info])[0]
        role = info.get("next_role", info.get("role", ""))
        obs_before = obs
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        lines += [
            f"--- turn {turn} ({role}) observation:",
            obs_before,
            f"--- action: {action}",
            f"--- reward: {float(reward):g}"
            + (f"  (valid mask: {info['valid']})" if "valid" in info and info.get("role") == "generator" else "")
            + (f"  (answer: {info['answer']})" if info.get("answer") and done else ""),
        ]
    return lines


def run(args: argparse.Namespace) -> int:
    import gymnasium
    from tqdm import tqdm

    import pretrainzero  # noqa: F401
    from pretrainzero.agents import AGENTS, play
    from pretrainzero.envs.registration import resolve_env_id

    if args.episodes < 1:
        raise UserError(f"-n {args.episodes}: give at least 1 episode")
    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: seeds are >= 0")
    env_id = resolve_env_id(args.env_id)
    env = gymnasium.make(env_id).unwrapped
    agent = AGENTS[args.agent](seed=args.seed) if args.agent == "random" else AGENTS[args.agent]()
    if args.show:
        print("\n".join(show_episode(env, agent, args.seed)))
    # a bar on a terminal only: play runs thousands of episodes a second, so logs get just the summary
    quiet = args.no_progress or not sys.stderr.isatty()
    with tqdm(total=args.episodes, unit="ep", disable=quiet, leave=False, file=sys.stderr) as bar:
        stats = play(env, agent, args.episodes, seed=args.seed, progress=bar.update)
    print(summary(env_id, args.agent, stats))
    return 0
