"""Argument checks shared by the verbs: made before any work starts, one line on failure."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError


def check_folder_arg(path: str | Path | None, flag: str, *, must_exist: bool = False) -> None:
    """``flag`` names a folder (created later when missing, unless ``must_exist``), never a file."""
    if path is None:
        return
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise UserError(f"{flag} {path} is a file, not a folder: give a folder")
    if must_exist and not p.exists():
        raise UserError(f"{flag} {path} does not exist: give an existing folder")
    for parent in p.parents:  # a file in the middle of the path: mkdir would fail only at the end
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{flag} {path}: {parent} is a file, not a folder")
            break
