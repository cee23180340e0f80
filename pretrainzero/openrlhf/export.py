"""OpenRLHF prompt files for any registered env: one JSON line per episode.

    pretrainzero export pretrainzero/wiki-vital-en-MaskedSpan-v1 --n 64000 --out prompts.jsonl

Each line is ``{"prompt": <first observation>, "label": <JSON string>}``; the label names the env
and the episode (paragraph id + episode seed), so every one of the n samples OpenRLHF draws for a
prompt replays the same episode in :mod:`pretrainzero.openrlhf.stock_agent`. Train on it with
``--data.prompt_dataset prompts.jsonl --data.input_key prompt --data.label_key label``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INPUT_KEY = "prompt"
LABEL_KEY = "label"


def episode_label(env_id: str, paragraph_id: str, seed: int, env_kwargs: Mapping[str, Any] | None = None) -> str:
    """The label string of one episode (what :func:`parse_label` reads back)."""
    label: dict[str, Any] = {"env": env_id, "paragraph_id": paragraph_id, "seed": int(seed)}
    if env_kwargs:
        label["env_kwargs"] = dict(env_kwargs)
    return json.dumps(label, sort_keys=True)


def parse_label(label: Any) -> dict[str, Any]:
    """An episode label back as ``{"env", "paragraph_id", "seed"[, "env_kwargs"]}``."""
    data = json.loads(label) if isinstance(label, str) else label
    if not isinstance(data, Mapping) or not {"env", "paragraph_id", "seed"} <= set(data):
        raise ValueError(f"not a pretrainzero episode label (needs env, paragraph_id, seed): {label!r:.200}")
    return dict(data)


def export_prompts(
    env_id: str, n: int, out: str | Path, *, seed: int = 0, env_kwargs: Mapping[str, Any] | None = None
) -> Path:
    """Write ``n`` episodes of ``env_id`` (seeded stream from ``seed``) to the JSONL file ``out``.

    Written atomically: a failure leaves no partial file. Returns the path.
    """
    import gymnasium

    import pretrainzero  # noqa: F401  (registers the built-in corpora's env ids)
    from pretrainzero.envs.registration import resolve_env_id

    from ..fileio import atomic_write_text

    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    env_id = resolve_env_id(env_id)
    kwargs = dict(env_kwargs or {})
    try:
        json.dumps(kwargs)
    except TypeError as exc:
        raise ValueError(f"env kwargs must be JSON values (they travel in each label): {exc}") from None
    env = gymnasium.make(env_id, **kwargs)
    lines = []
    try:
        for i in range(n):
            obs, info = env.reset(seed=seed if i == 0 else None)
            label = episode_label(env_id, info["paragraph_id"], info["seed"], kwargs)
            lines.append(json.dumps({INPUT_KEY: obs, LABEL_KEY: label}, ensure_ascii=False))
    finally:
        env.close()
    path = Path(out)
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
