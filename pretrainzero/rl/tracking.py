"""Optional experiment tracking: the per-step metrics of ``metrics.jsonl``, forwarded as they are
written to TensorBoard, Weights & Biases or Trackio (``report_to:`` in the recipe).

``metrics.jsonl`` stays the record of a run (resume, report and plots read it); trackers get a
copy of each row's numeric fields, RL rows under their own names at the RL step, SFT cold-start
rows as ``sft/<name>`` at the SFT step. :func:`check_report_to` runs before anything is created
or loaded, so a missing package is one line, not a failure after the model loaded.

* ``tensorboard``: event files under ``<run>/tensorboard`` (``torch.utils.tensorboard`` when the
  ``tensorboard`` package is installed, else ``tensorboardX``);
* ``wandb``: ``wandb.init(project=$WANDB_PROJECT or "pretrainzero", name=<recipe name>)``;
* ``trackio``: ``trackio.init(project=$TRACKIO_PROJECT or "pretrainzero", name=<recipe name>)``.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import UserError

TRACKERS: dict[str, tuple[str, ...]] = {  # name -> importable packages, any one of which serves
    "tensorboard": ("tensorboard", "tensorboardX"),
    "wandb": ("wandb",),
    "trackio": ("trackio",),
}
INSTALL = {"tensorboard": "tensorboardX", "wandb": "wandb", "trackio": "trackio"}


class Tracker(Protocol):
    def log(self, metrics: Mapping[str, float], step: int) -> None: ...

    def close(self) -> None: ...


def check_report_to(names: Sequence[str]) -> None:
    """Raise :class:`UserError` (one line) for an unknown tracker or one whose package is missing."""
    for name in names:
        if name not in TRACKERS:
            raise UserError(f"report_to: unknown tracker {name!r}; choose from {', '.join(TRACKERS)}")
        if not any(importlib.util.find_spec(pkg) is not None for pkg in TRACKERS[name]):
            raise UserError(
                f"report_to: {name} needs the {INSTALL[name]} package: pip install {INSTALL[name]} "
                f"(or remove {name!r} from report_to)"
            )


class _TensorBoard:
    def __init__(self, log_dir: Path) -> None:
        self._w: Any
        if importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter

            self._w = SummaryWriter(log_dir=str(log_dir))
        else:
            from tensorboardX import SummaryWriter as TBXSummaryWriter  # the same API

            self._w = TBXSummaryWriter(log_dir=str(log_dir))

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        for key, value in metrics.items():
            self._w.add_scalar(key, value, step)
        self._w.flush()

    def close(self) -> None:
        self._w.close()


class _WandbLike:
    """wandb and trackio share ``init`` / ``log`` / ``finish``."""

    def __init__(self, module: str, project: str, name: str, config: Mapping[str, Any], out: Path) -> None:
        self._m = importlib.import_module(module)
        kwargs: dict[str, Any] = {"project": project, "name": name, "config": dict(config)}
        if module == "wandb":
            kwargs["dir"] = str(out)
        self._run = self._m.init(**kwargs)

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self._m.log(dict(metrics), step=step)

    def close(self) -> None:
        self._m.finish()


class Trackers:
    """The recipe's trackers; :meth:`row` forwards one metrics row."""

    def __init__(self, trackers: list[Tracker]) -> None:
        self._trackers = trackers

    @classmethod
    def open(cls, names: Sequence[str], out: Path, name: str, config: Mapping[str, Any]) -> Trackers:
        check_report_to(names)
        opened: list[Tracker] = []
        for tracker in names:
            if tracker == "tensorboard":
                opened.append(_TensorBoard(out / "tensorboard"))
            else:
                project = os.environ.get(f"{tracker.upper()}_PROJECT") or "pretrainzero"
                opened.append(_WandbLike(tracker, project, name, config, out))
        return cls(opened)

    def row(self, row: Mapping[str, Any]) -> None:
        step = row.get("step")
        if not self._trackers or not isinstance(step, (int, float)) or isinstance(step, bool):
            return
        prefix = f"{row['phase']}/" if row.get("phase") else ""
        scalars = {
            f"{prefix}{k}": float(v)
            for k, v in row.items()
            if k not in ("step", "phase")
            and isinstance(v, (int, float))
            and not isinstance(v, bool)
            and math.isfinite(v)
        }
        for t in self._trackers:
            t.log(scalars, int(step))

    def close(self) -> None:
        for t in self._trackers:
            t.close()
