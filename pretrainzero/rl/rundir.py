"""The run folder: what ``train --out DIR`` may do to it, and what ``--resume`` continues.

The rules (also in the README's Training section):

- A new run needs a new or empty folder. A non-empty one is refused unless ``overwrite`` is given,
  which first deletes the folder's contents, and only when the folder looks like a run folder
  (it holds ``run.json``, ``recipe.json``, ``metrics.jsonl`` or ``checkpoints/``), so a mistyped
  ``--out`` cannot wipe unrelated files.
- ``resume`` continues the newest *intact* checkpoint (see
  :func:`~pretrainzero.rl.checkpoint.verify_checkpoint`). Damaged newer ones are renamed
  ``step-NNNNNN.corrupt`` (kept, never deleted) and the fallback is announced.
- A resume never mixes two runs: it is refused when the checkpoint carries another run id than the
  folder's ``run.json``, when the recipe changes the run's identity (model, corpus, seed), when
  ``metrics.jsonl`` is shorter than the checkpoint recorded or its last step is not the
  checkpoint's, and when steps were logged but no intact checkpoint is left. Otherwise
  ``metrics.jsonl`` is cut back to the checkpoint's step, so the log holds one run, step by step.
- Resuming an empty or missing folder starts a new run there.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..fileio import atomic_write_text
from .checkpoint import (
    TrainingState,
    checkpoint_step,
    list_checkpoints,
    load_training_state,
    verify_checkpoint,
)

RUN_FILE = "run.json"
RUN_MARKERS = (RUN_FILE, "recipe.json", "metrics.jsonl", "checkpoints")
IDENTITY = ("model", "corpus", "seed")  # what a resumed run may not change


@dataclass
class RunFolder:
    """An opened run folder: its run id and, when resuming, the checkpoint state to continue."""

    path: Path
    run_id: str
    state: TrainingState | None


def _json_form(d: dict[str, Any]) -> dict[str, Any]:
    # tuples vs lists, Paths vs strings: compare recipes the way checkpoints store them
    return json.loads(json.dumps(d, default=str))


def _metric_rows(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    raw = path.read_bytes()[:limit]
    rows = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def describe(out: Path) -> str:
    """A few words on what a run folder holds (for refusals)."""
    rows = [r for r in _metric_rows(out / "metrics.jsonl") if r.get("phase") != "sft"]
    ckpts = list_checkpoints(out / "checkpoints")
    parts = []
    try:
        name = json.loads((out / "recipe.json").read_text()).get("name")
        parts.append(f"a run of recipe {name!r}")
    except (OSError, ValueError, AttributeError):
        parts.append(f"{len(list(out.iterdir()))} entries")
    parts.append(f"{len(rows)} logged steps")
    if ckpts:
        parts.append(f"checkpoints up to {ckpts[-1].name}")
    return ", ".join(parts)


def _is_nonempty_dir(out: Path) -> bool:
    return out.is_dir() and any(out.iterdir())


def open_run_folder(
    out: Path, recipe: dict[str, Any], *, resume: bool, overwrite: bool, log: Callable[[str], None]
) -> RunFolder:
    """Apply the module's rules to ``out`` and return the run to continue (or a new one).

    Raises :class:`~pretrainzero.errors.UserError` (one line naming the folder and the fix) when
    the rules refuse."""
    if resume and overwrite:
        raise UserError("--resume continues the run in --out and --overwrite deletes it: give only one")
    if out.exists() and not out.is_dir():
        raise UserError(
            f"--out {out} is a file, not a folder: give a folder for the run (it is created if missing)"
        )
    if resume:
        if not _is_nonempty_dir(out):
            log(f"nothing to resume in {out}: starting a new run there")
        else:
            folder = _resume(out, _json_form(recipe), log)
            if folder is not None:
                return folder
    elif _is_nonempty_dir(out):
        if not overwrite:
            resumable = list_checkpoints(out / "checkpoints")
            how = (
                "continue it with --resume, replace it"
                if resumable
                else "it has no checkpoint to resume; replace it"
            )
            raise UserError(
                f"--out {out} is not empty ({describe(out)}): {how} with --overwrite, or choose another --out"
            )
        if not any((out / m).exists() for m in RUN_MARKERS):
            raise UserError(
                f"--overwrite: {out} does not look like a run folder (no run.json, recipe.json, "
                "metrics.jsonl or checkpoints/), so it is not deleted: choose another --out"
            )
        what = describe(out)
        for child in out.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        log(f"--overwrite: deleted the previous contents of {out} ({what})")
    return _new_run(out, recipe)


def _new_run(out: Path, recipe: dict[str, Any]) -> RunFolder:
    out.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex
    info = {"run_id": run_id, "name": recipe.get("name"), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    atomic_write_text(out / RUN_FILE, json.dumps(info, indent=1))
    (out / "metrics.jsonl").write_text("")  # a new run starts a new log
    return RunFolder(out, run_id, None)


def _folder_run_id(out: Path) -> str | None:
    try:
        return str(json.loads((out / RUN_FILE).read_text())["run_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _set_aside(path: Path) -> Path:
    target = path.with_name(path.name + ".corrupt")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt{n}")
    os.replace(path, target)
    return target


def _resume(out: Path, recipe: dict[str, Any], log: Callable[[str], None]) -> RunFolder | None:
    metrics_path = out / "metrics.jsonl"
    damaged = 0
    state = None
    for ckpt in reversed(list_checkpoints(out / "checkpoints")):
        problem = verify_checkpoint(ckpt)
        if problem is None:
            try:
                state = load_training_state(ckpt)  # also restores the global RNG states
            except Exception as exc:  # noqa: BLE001 - any failure to read it means: damaged
                problem = f"cannot be read ({type(exc).__name__}: {exc})"
        if problem is None:
            break
        damaged += 1
        aside = _set_aside(ckpt)
        log(
            f"warning: checkpoint {ckpt.name} is damaged ({problem}); moved it to {aside.name} and trying "
            "the next older one"
        )
    rows = [r for r in _metric_rows(metrics_path) if r.get("phase") != "sft"]
    if state is None:
        logged = _metric_rows(metrics_path)
        if logged or damaged:
            what = (
                f"{len(rows)} logged steps" if rows else ("an unfinished SFT phase" if logged else "no steps")
            )
            raise UserError(
                f"--resume: {out} has {what} but no intact checkpoint to continue from: start again with "
                "--overwrite, or choose another --out"
            )
        if not any((out / m).exists() for m in RUN_MARKERS):
            raise UserError(
                f"--resume: {out} holds no run (no run.json, recipe.json, metrics.jsonl or "
                "checkpoints/): give the run's folder, or another --out for a new run"
            )
        log(f"no checkpoint in {out} yet: starting the run from the beginning")
        return None
    # the same run?
    folder_id, ckpt_id = _folder_run_id(out), state.extra.get("run_id")
    if folder_id and ckpt_id and folder_id != ckpt_id:
        raise UserError(
            f"--resume: checkpoint {state.path} belongs to another run than {out / RUN_FILE} "
            "(run ids differ): choose another --out for a new run"
        )
    before = _json_form(state.extra.get("recipe", {}))
    for key in IDENTITY:
        if key in before and before[key] != recipe.get(key):
            raise UserError(
                f"--resume: the recipe sets {key}={recipe.get(key)!r} but the run in {out} was trained "
                f"with {key}={before[key]!r}; a resumed run keeps {', '.join(IDENTITY)}. Choose another "
                "--out for a new run"
            )
    changed = sorted(
        k for k in recipe if k not in ("steps", "max_minutes") and k in before and before[k] != recipe[k]
    )

    # the log must be this checkpoint's: at least as long as recorded, ending with its last step
    size = metrics_path.stat().st_size if metrics_path.is_file() else 0
    if size < state.metrics_offset:
        raise UserError(
            f"--resume: {metrics_path} holds {size} bytes but checkpoint {state.path.name} recorded "
            f"{state.metrics_offset}: the log was replaced or cut since. Restore it, or start again "
            "with --overwrite"
        )
    kept = [r for r in _metric_rows(metrics_path, state.metrics_offset) if r.get("phase") != "sft"]
    if state.step > 0 and (not kept or kept[-1].get("step") != state.step - 1):
        last = kept[-1].get("step") if kept else None
        raise UserError(
            f"--resume: {metrics_path} does not match checkpoint {state.path.name} (its last step at the "
            f"recorded offset is {last}, expected {state.step - 1}): restore the log, or start again "
            "with --overwrite"
        )
    dropped = len(rows) - len(kept)
    if dropped > 0:
        log(f"metrics.jsonl: dropping {dropped} logged steps after step {state.step} (not in the checkpoint)")
    if checkpoint_step(state.path) != state.step:
        raise UserError(f"--resume: {state.path} records step {state.step}; the folder name says otherwise")
    if damaged:
        log(f"resuming from {state.path.name}, the newest intact checkpoint (step {state.step})")
    else:
        log(f"resuming from {state.path} (step {state.step})")
    if changed:
        log(f"note: the recipe differs from the checkpoint's in {', '.join(changed)}")
    return RunFolder(out, folder_id or ckpt_id or uuid.uuid4().hex, state)
