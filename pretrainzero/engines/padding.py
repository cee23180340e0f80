"""The one left-padding helper: token-id rows → ``(input_ids, attention_mask, position_ids)``.

Left padding puts every row's last token in the last column, which is where decoding reads the
next-token logits and where teacher-forced spans end. Positions count real tokens only (padding
shares position 0), so a padded row computes exactly what it computes alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def left_pad(rows: Sequence[Sequence[int]], pad_id: int, *, width: int | None = None,
             device: Any = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left-pad ``rows`` to ``width`` (default: the longest row) with ``pad_id``."""
    w = max((len(r) for r in rows), default=0) if width is None else width
    ids = torch.full((len(rows), w), int(pad_id), dtype=torch.long)
    att = torch.zeros((len(rows), w), dtype=torch.long)
    for i, r in enumerate(rows):
        if len(r) > w:
            raise ValueError(f"row {i} has {len(r)} tokens, more than the width {w}")
        if r:
            ids[i, w - len(r):] = torch.as_tensor(list(r), dtype=torch.long)
            att[i, w - len(r):] = 1
    pos = (att.cumsum(-1) - 1).clamp(min=0)
    if device is not None:
        ids, att, pos = ids.to(device), att.to(device), pos.to(device)
    return ids, att, pos
