"""Env throughput and memory (a benchmark script, not a test).

Part 1: episodes/second of each env family on ``wiki-vital-en`` with oracle actions, on the raw
env (``gymnasium.make(id).unwrapped``: the hot path a trainer uses) and through ``gymnasium.make``'s
standard wrappers, plus the peak RSS. Target: >= 20,000 ``MaskedSpan`` episodes/s on one core.
The oracle's action is built from ``info`` outside the timed region, so the numbers are env cost.

Part 2 (in a fresh subprocess, so its peak RSS is its own): write a synthetic jsonl corpus of
random words (1 GB by default) to a temporary folder, register it, build its index through the
env, run 10,000 ``MaskedSpan`` episodes and print the peak RSS (target <= 300 MB). The folder
(corpus and index cache) is deleted afterwards.

    python benchmarks/env_throughput.py [--episodes 20000] [--big-gb 1.0] [--skip-big]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

FAMILIES = ("MaskedSpan", "NextToken", "MaskGeneration", "ActiveMasking")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def python_speed_ms() -> float:
    """A pure-Python yardstick, so numbers from a busy or slow machine can be scaled."""
    import timeit

    return min(timeit.repeat("sum(range(10**6))", number=5, repeat=3)) / 5 * 1e3


def oracle_actions(env, episodes: int, seed: int) -> list[tuple[int, list[str]]]:
    """(episode seed, actions) per episode, computed up front with the oracle agent."""
    from pretrainzero.agents import OracleAgent

    oracle, plan = OracleAgent(), []
    obs, info = env.reset(seed=seed)
    for _ in range(episodes):
        actions, done = [], False
        start = info
        while not done:
            actions.append(oracle.act([obs], [info])[0])
            obs, _, terminated, truncated, info = env.step(actions[-1])
            done = terminated or truncated
        plan.append((start["paragraph_id"], start["seed"], actions))
        obs, info = env.reset()
    return plan


def timed(env, plan) -> tuple[float, float]:
    """(episodes/s, mean reward) replaying ``plan`` through reset(options=...) + step."""
    reset, step = env.reset, env.step
    total = 0.0
    t0 = time.perf_counter()
    for paragraph_id, seed, actions in plan:
        reset(options={"paragraph_id": paragraph_id, "seed": seed})
        for a in actions:
            total += step(a)[1]
    dt = time.perf_counter() - t0
    return len(plan) / dt, total / len(plan)


def timed_stream(env, episodes: int) -> float:
    """MaskedSpan only: plain ``reset()`` + ``step(oracle)`` in a loop, oracle inlined (episodes/s)."""
    reset, step = env.reset, env.step
    env.reset(seed=0)
    t0 = time.perf_counter()
    for _ in range(episodes):
        _, info = reset()
        step("\\boxed{" + info["answer"] + "}")
    return episodes / (time.perf_counter() - t0)


def part1(episodes: int) -> None:
    import gymnasium

    import pretrainzero  # noqa: F401

    print(
        f"# env throughput on wiki-vital-en, {episodes} episodes per family (python {sys.version.split()[0]})"
    )
    print(f"# CPU speed reference: sum(range(10**6)) takes {python_speed_ms():.1f} ms here", flush=True)
    for family in FAMILIES:
        env_id = f"pretrainzero/wiki-vital-en-{family}-v1"
        raw = gymnasium.make(env_id).unwrapped
        n = episodes if family in ("MaskedSpan", "NextToken") else max(1, episodes // 4)
        plan = oracle_actions(raw, n, seed=0)
        timed(raw, plan)  # warm the paragraph and word-offset caches
        raw_eps, mean = timed(raw, plan)
        wrapped = gymnasium.make(env_id)
        wrapped.reset(seed=0)
        wrapped_eps, _ = timed(wrapped, plan)
        line = f"{family:15s} raw {raw_eps:10,.0f} ep/s   gym.make {wrapped_eps:10,.0f} ep/s"
        line += f"   oracle reward {mean:.3f}"
        if family == "MaskedSpan":
            line += f"   reset()+step loop {timed_stream(raw, n):10,.0f} ep/s"
        print(line, flush=True)
    print(f"peak RSS {peak_rss_mb():.0f} MB")


def write_synthetic(path: str, gb: float, seed: int = 0) -> int:
    """Random-word jsonl (one document per line, 3 paragraphs of ~120 words); returns bytes."""
    import numpy as np

    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(["".join(rng.choice(letters, size=rng.integers(2, 10))) for _ in range(20000)])
    target, written = int(gb * 1e9), 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            words = vocab[rng.integers(0, len(vocab), size=360 * 2000)].tolist()
            lines = []
            for d in range(2000):
                w = words[d * 360 : (d + 1) * 360]
                paras = (" ".join(w[i : i + 120]) + "." for i in (0, 120, 240))
                lines.append(json.dumps({"text": "\n\n".join(paras)}))
            chunk = "\n".join(lines) + "\n"
            f.write(chunk)
            written += len(chunk)
    return written


def part2(gb: float, episodes: int) -> None:
    with tempfile.TemporaryDirectory(prefix="pz-bench-") as tmp:
        env = dict(os.environ, PRETRAINZERO_CACHE=os.path.join(tmp, "cache"))
        path = os.path.join(tmp, "synthetic.jsonl")
        t0 = time.perf_counter()
        size = write_synthetic(path, gb)
        print(
            f"# synthetic corpus: {size / 1e9:.2f} GB written in {time.perf_counter() - t0:.0f} s", flush=True
        )
        code = f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); import env_throughput as b; "
        code += f"b.run_big({path!r}, {episodes})"
        subprocess.run([sys.executable, "-c", code], env=env, check=True)


def run_big(path: str, episodes: int) -> None:
    """In a fresh process: register, index (first reset), run ``episodes``, report peak RSS."""
    import gymnasium

    import pretrainzero

    t0 = time.perf_counter()
    pretrainzero.register_corpus("bench-synthetic", source=path)
    env = gymnasium.make("pretrainzero/bench-synthetic-MaskedSpan-v1").unwrapped
    env.reset(seed=0)
    t1 = time.perf_counter()
    rss = peak_rss_mb()
    print(f"registered + indexed {len(env.corpus):,} paragraphs in {t1 - t0:.0f} s; peak RSS {rss:.0f} MB")
    for _ in range(episodes):
        _, info = env.reset()
        env.step("\\boxed{" + info["answer"] + "}")
    dt = time.perf_counter() - t1
    rate, rss = episodes / dt, peak_rss_mb()
    print(f"{episodes:,} MaskedSpan episodes in {dt:.1f} s ({rate:,.0f} ep/s); peak RSS {rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20000)
    parser.add_argument("--big-gb", type=float, default=1.0)
    parser.add_argument("--big-episodes", type=int, default=10000)
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    part1(args.episodes)
    if not args.skip_big:
        part2(args.big_gb, args.big_episodes)


if __name__ == "__main__":
    main()
