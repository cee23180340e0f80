"""Progress of long phases (held-out evaluation, SFT, eval, training): a bar on a terminal, log lines
otherwise (nohup, SLURM, CI), so a run never sits silent for minutes.

``Progress(total, desc)`` picks by itself: a tqdm bar when stderr is a terminal, else one line
through ``log`` every ``every_s`` seconds and one at the end. ``mode`` forces ``"bar"``,
``"log"`` or ``"off"``. ``set_postfix`` adds live numbers (to the bar, or to the lines);
``write`` prints a message without breaking the bar.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Literal, Self

Mode = Literal["auto", "bar", "log", "off"]


def _print(line: str) -> None:
    print(line, flush=True)


class Progress:
    """Counts ``update(n)`` calls towards ``total`` and shows them (see the module docstring)."""

    def __init__(self, total: int, desc: str, *, mode: Mode = "auto", log: Callable[[str], None] | None = None,
                 every_s: float = 30.0, unit: str = "it", initial: int = 0) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.total, self.desc, self.unit, self.every_s = int(total), desc, unit, every_s
        self.mode: Mode = mode if total > initial else "off"
        self.log = log or _print
        self.done = self.initial = int(initial)
        self.postfix = ""
        self.t0 = self.last = time.perf_counter()
        self.bar: Any = None
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, initial=initial, desc=desc, unit=unit, file=sys.stderr,
                            dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.mode == "log":
            now = time.perf_counter()
            if now - self.last >= self.every_s and self.done < self.total:
                self.last = now
                self.log(self._line(now))

    def set_postfix(self, **values: str) -> None:
        """Live numbers shown next to the count (``acc=0.12``)."""
        self.postfix = " ".join(f"{k}={v}" for k, v in values.items())
        if self.bar is not None:
            self.bar.set_postfix(values, refresh=False)

    def write(self, line: str) -> None:
        """A message: above the bar on a terminal, else through ``log``."""
        if self.bar is not None:
            self.bar.write(line)
        else:
            self.log(line)

    def _line(self, now: float) -> str:
        elapsed, done = now - self.t0, self.done - self.initial
        line = (f"{self.desc}: {self.done}/{self.total} {self.unit} "
                f"({100 * self.done / max(self.total, 1):.0f}%, {elapsed:.0f}s")
        if 0 < done and self.done < self.total:
            line += f", ~{elapsed * (self.total - self.done) / done:.0f}s left"
        return line + (f", {self.postfix})" if self.postfix else ")")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.mode == "log":
            self.log(self._line(time.perf_counter()))
            self.mode = "off"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
