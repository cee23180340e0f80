"""Atomic, resumable training checkpoints.

A checkpoint is a directory ``checkpoints/step-000123/`` holding an HF-loadable model
(``model.safetensors`` + config + tokenizer), ``optimizer.pt`` and ``scheduler.pt`` (loaded back
with ``weights_only=True``), ``rng.pt`` (torch and numpy generator states) and ``state.json``
(step, data cursor, metrics-file offset, Python RNG state, recipe), and last ``manifest.json``
(size and SHA-256 of every other file) so that a damaged checkpoint is recognised before use.

Atomicity: everything is written into a hidden temporary directory, every file and the directory
are fsync'ed, and only then is it renamed to its final name (a rename within one file system is
atomic). A run killed at any moment therefore leaves either the new complete checkpoint or none
at all next to the last good one, which is only deleted (``keep`` newest are kept) after the new
one exists; pruning never removes the checkpoint just written, whatever other step numbers are
present. Leftover temporary directories are ignored and cleaned up by the next save.

A checkpoint damaged later (a truncated copy, a disk error) fails :func:`verify_checkpoint`;
:func:`newest_intact_checkpoint` then falls back to the next older one.
"""

from __future__ import annotations

import hashlib
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
MANIFEST = "manifest.json"


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


def checkpoint_step(path: str | Path) -> int:
    """The step number in a checkpoint directory's name (``step-000123`` -> 123)."""
    m = _STEP_RE.match(Path(path).name)
    if m is None:
        raise ValueError(f"{path} is not a checkpoint directory (expected a name like step-000123)")
    return int(m.group(1))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manifest(root: Path) -> dict[str, Any]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)
    return {"files": {str(p.relative_to(root)): {"size": p.stat().st_size, "sha256": _sha256(p)} for p in files}}


def verify_checkpoint(path: str | Path) -> str | None:
    """None when every file listed in the checkpoint's manifest is present with its size and
    SHA-256; otherwise what is wrong, in a few words. (A checkpoint without a manifest, from an
    older version, passes when its state.json parses and its files are present.)"""
    path = Path(path)
    try:
        listed = json.loads((path / MANIFEST).read_text())["files"]
    except FileNotFoundError:  # written before manifests existed: check what can be checked
        try:
            json.loads((path / "state.json").read_text())
        except (OSError, ValueError):
            return "no manifest.json and an unreadable state.json"
        missing = [n for n in ("optimizer.pt", "scheduler.pt", "rng.pt", "config.json") if not (path / n).is_file()]
        if missing or not list(path.glob("*.safetensors")):
            return f"no {MANIFEST} and missing {', '.join(missing) or 'model weights'}"
        return None
    except (ValueError, KeyError, TypeError):
        return f"unreadable {MANIFEST}"
    for name, want in listed.items():
        f = path / name
        if not f.is_file():
            return f"{name} is missing"
        if f.stat().st_size != want["size"]:
            return f"{name} has {f.stat().st_size} bytes, expected {want['size']}"
        if _sha256(f) != want["sha256"]:
            return f"{name} does not match its checksum"
    return None


def newest_intact_checkpoint(root: str | Path) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest checkpoint that passes :func:`verify_checkpoint`, and the newer ones that failed
    (each with its problem), newest first."""
    bad: list[tuple[Path, str]] = []
    for path in reversed(list_checkpoints(root)):
        problem = verify_checkpoint(path)
        if problem is None:
            return path, bad
        bad.append((path, problem))
    return None, bad


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
    (tmp / MANIFEST).write_text(json.dumps(_manifest(tmp), indent=1))  # last: it vouches for the rest
    _fsync_tree(tmp)
    if final.exists():  # re-saving a step (e.g. after a resume): move the old copy aside first
        aside = root / f".tmp-old-{final.name}-{os.getpid()}"
        os.replace(final, aside)
        os.replace(tmp, final)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(tmp, final)
    _fsync_dir(root)
    # prune older checkpoints only: the one just written always stays, even when a step number
    # above it exists (those are left alone, never counted as "newer" than what was just saved)
    older = [p for p in list_checkpoints(root) if checkpoint_step(p) < step]
    for old in older[: max(0, len(older) - (keep - 1))]:
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
