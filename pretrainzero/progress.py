"""Progress for long loops: a bar on a terminal, plain log lines otherwise.

A bar redrawn with carriage returns is noise in a log file or a CI console, and nothing at all
with ``--no-progress``. :class:`Progress` picks: a tqdm bar when ``bar`` is true and stderr is a
terminal; otherwise one line per update through ``log`` (at most one every ``every_s`` seconds,
the last update always), e.g. ``train 12/40 (30%) acc=0.25 valid=0.5  21.4 s/step, 10m00s left``.

    with Progress(len(items), "held-out", bar=not args.no_progress, every_s=30) as p:
        for item in items:
            ...
            p.update(1, acc=running_accuracy)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any


def _is_terminal() -> bool:
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def _fmt(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _duration(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    """A bar (``bar`` and a terminal) or periodic log lines; ``write`` prints without breaking the bar."""

    def __init__(
        self,
        total: int | None,
        desc: str,
        *,
        bar: bool = True,
        initial: int = 0,
        every_s: float = 30.0,
        unit: str = "step",
        log: Callable[[str], None] = print,
    ) -> None:
        self.total, self.desc, self.unit, self.log, self.every_s = total, desc, unit, log, every_s
        self.n = self._start = initial
        self._t0 = self._last = time.perf_counter()
        self._printed_at: float | None = None
        self._bar = None
        if bar and _is_terminal():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True)

    @property
    def is_bar(self) -> bool:
        return self._bar is not None

    def update(self, n: int = 1, **fields: Any) -> None:
        self.n += n
        now = time.perf_counter()
        if self._bar is not None:
            if fields:
                self._bar.set_postfix({k: _fmt(v) for k, v in fields.items()}, refresh=False)
            self._bar.update(n)
            return
        last = self.total is not None and self.n >= self.total
        if self._printed_at is not None and now - self._printed_at < self.every_s and not last:
            return
        self._printed_at = now
        done = f"{self.n}/{self.total} ({100 * self.n / self.total:.0f}%)" if self.total else str(self.n)
        parts = [f"{self.desc} {done}", *(f"{k}={_fmt(v)}" for k, v in fields.items())]
        line = " ".join(parts)
        if self.n > self._start:
            per = (now - self._t0) / (self.n - self._start)
            line += f"  {per:.3g} s/{self.unit}"
            if self.total and not last:
                line += f", {_duration(per * (self.total - self.n))} left"
        self.log(line)

    def write(self, msg: str) -> None:
        if self._bar is not None:
            self._bar.write(msg)
        else:
            self.log(msg)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
