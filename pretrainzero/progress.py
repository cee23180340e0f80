"""Progress of long phases (held-out evaluation, SFT, eval, training): a bar on a terminal, log lines
otherwise (nohup, SLURM, CI), so a run never sits silent for minutes.

``Progress(total, desc)`` picks by itself: a tqdm bar when stderr is a terminal, else one line
through ``log`` every ``every_s`` seconds (``0``: every update) and one at the end. ``mode``
forces ``"bar"``, ``"log"`` or ``"off"``. ``update(n, **fields)`` can carry a few numbers shown
after the count (bar postfix or ``acc=0.25 valid=0.5`` in the line); ``write(msg)`` prints a
message without breaking the bar.

    with Progress(len(items), "held-out", mode="auto" if progress else "log", unit="gen") as bar:
        for item in items:
            ...
            bar.update(1)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Literal, Self

Mode = Literal["auto", "bar", "log", "off"]


def _print(line: str) -> None:
    print(line, flush=True)


def _fmt(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


class Progress:
    """Counts ``update(n)`` calls towards ``total`` and shows them (see the module docstring)."""

    def __init__(self, total: int, desc: str, *, mode: Mode = "auto", log: Callable[[str], None] | None = None,
                 every_s: float = 30.0, unit: str = "it", initial: int = 0) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.total, self.desc, self.unit, self.every_s = int(total), desc, unit, every_s
        self.mode: Mode = mode if total > initial else "off"
        self.log = log or _print
        self.done = self.start = self.shown = initial
        self.fields: dict[str, Any] = {}
        self.t0 = self.last = time.perf_counter()
        self.bar: Any = None
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, initial=initial, desc=desc, unit=unit, file=sys.stderr,
                            dynamic_ncols=True)

    def update(self, n: int = 1, **fields: Any) -> None:
        self.done += n
        self.fields = fields
        if self.bar is not None:
            if fields:
                self.bar.set_postfix({k: _fmt(v) for k, v in fields.items()}, refresh=False)
            self.bar.update(n)
        elif self.mode == "log":
            now = time.perf_counter()
            if now - self.last >= self.every_s or self.done >= self.total:
                self.last, self.shown = now, self.done
                self.log(self._line(now))

    def write(self, msg: str) -> None:
        """A message between updates (above the bar, or as a log line)."""
        if self.bar is not None:
            self.bar.write(msg)
        else:
            self.log(msg)

    def _line(self, now: float) -> str:
        elapsed = now - self.t0
        line = (f"{self.desc}: {self.done}/{self.total} {self.unit} ({100 * self.done / max(self.total, 1):.0f}%, "
                f"{elapsed:.0f}s")
        if self.start < self.done < self.total:
            line += f", ~{elapsed * (self.total - self.done) / (self.done - self.start):.0f}s left"
        line += ")"
        return line + "".join(f" {k}={_fmt(v)}" for k, v in self.fields.items())

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.mode == "log":
            if self.shown != self.done:  # the final count, unless the last update already showed it
                self.log(self._line(time.perf_counter()))
            self.mode = "off"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
