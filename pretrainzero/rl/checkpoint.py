"""Atomic, resumable training checkpoints.

A checkpoint is a directory ``checkpoints/step-000123/`` holding an HF-loadable model
(``model.safetensors`` + config + tokenizer), ``optimizer.pt`` and ``scheduler.pt`` (loaded back
with ``weights_only=True``), ``rng.pt`` (torch and numpy generator states) and ``state.json``
(step, data cursor, metrics-file offset, Python RNG state, recipe).

Atomicity: everything is written into a hidden temporary directory, every file and the directory
are fsync'ed, and only then is it renamed to its final name (a rename within one file system is
atomic). A run killed at any moment therefore leaves either the new complete checkpoint or none
at all next to the last good one, which is only deleted (``keep`` newest are kept) after the new
one exists. Leftover temporary directories are ignored and cleaned up by the next save.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

_STEP_RE = re.compile(r"^step-(\d+)$")


@dataclass
class TrainingState:
    """What a resumed run restores besides the weights (loaded from the checkpoint directory)."""

    path: Path
    step: int  # number of completed optimiser steps; the run continues with this step index
    data: dict[str, Any]
    metrics_offset: int
    extra: dict[str, Any]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rng_state() -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Python + numpy + torch global RNG states, split into JSON-able and tensor parts."""
    py = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    json_part = {"python": [py[0], list(py[1]), py[2]], "numpy": [kind, int(pos), int(has_gauss), float(cached)]}
    tensors = {"torch": torch.get_rng_state(), "numpy_keys": torch.from_numpy(np.asarray(keys, dtype=np.int64))}
    if torch.cuda.is_available():
        tensors["cuda"] = torch.cuda.get_rng_state()
    return json_part, tensors


def set_rng_state(json_part: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    v, internal, gauss = json_part["python"]
    random.setstate((v, tuple(internal), gauss))
    kind, pos, has_gauss, cached = json_part["numpy"]
    np.random.set_state((kind, tensors["numpy_keys"].numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["torch"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["cuda"])


def list_checkpoints(root: str | Path) -> list[Path]:
    """Complete checkpoints under ``root``, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _STEP_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(root: str | Path) -> Path | None:
    ckpts = list_checkpoints(root)
    return ckpts[-1] if ckpts else None


def save_checkpoint(
    root: str | Path,
    step: int,
    *,
    model: Any,
    tokenizer: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    data: dict[str, Any],
    metrics_offset: int,
    extra: dict[str, Any] | None = None,
    keep: int = 2,
) -> Path:
    """Write checkpoint ``step`` atomically under ``root`` and prune all but the ``keep`` newest."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):  # left by a run killed mid-save
        shutil.rmtree(stale, ignore_errors=True)
    final = root / f"step-{step:06d}"
    tmp = root / f".tmp-step-{step:06d}-{os.getpid()}"
    tmp.mkdir()
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    rng_json, rng_tensors = rng_state()
    torch.save(rng_tensors, tmp / "rng.pt")
    state = {"step": step, "data": data, "metrics_offset": metrics_offset, "rng": rng_json, "extra": extra or {}}
    (tmp / "state.json").write_text(json.dumps(state, indent=1))
    _fsync_tree(tmp)
    if final.exists():  # re-saving a step (e.g. after a resume): move the old copy aside first
        aside = root / f".tmp-old-{final.name}-{os.getpid()}"
        os.replace(final, aside)
        os.replace(tmp, final)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(tmp, final)
    _fsync_dir(root)
    for old in list_checkpoints(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_training_state(path: str | Path) -> TrainingState:
    """Read a checkpoint's non-weight state and restore the global RNGs from it."""
    path = Path(path)
    state = json.loads((path / "state.json").read_text())
    optimizer = torch.load(path / "optimizer.pt", weights_only=True)
    scheduler = torch.load(path / "scheduler.pt", weights_only=True)
    set_rng_state(state["rng"], torch.load(path / "rng.pt", weights_only=True))
    return TrainingState(path, int(state["step"]), state["data"], int(state["metrics_offset"]), state.get("extra", {}),
                         optimizer, scheduler)
