"""Per-step metrics as JSON lines, resumable: a resumed run truncates the file to the byte offset
recorded in its checkpoint, so the log never holds steps from a run that was later undone."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


class MetricsLog:
    """Append-only JSONL writer; :attr:`offset` is the byte position to store in checkpoints."""

    def __init__(self, path: str | Path, *, truncate_to: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if truncate_to is None:
            self.path.write_text("")
        else:
            size = self.path.stat().st_size if self.path.exists() else 0
            if truncate_to > size:  # truncate() would pad with NUL bytes: the log is another run's
                raise ValueError(f"{self.path} holds {size} bytes, fewer than the {truncate_to} to keep")
            with open(self.path, "r+b") as f:
                f.truncate(truncate_to)
        self._f = open(self.path, "a", encoding="utf-8")

    def write(self, row: dict[str, Any]) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        self._f.write(json.dumps(clean) + "\n")
        self._f.flush()

    @property
    def offset(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        self._f.close()


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All rows of a metrics file (a torn last line from a killed run is ignored)."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows
