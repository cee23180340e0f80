"""Import user code named in a recipe: ``module:Name`` (also ``module.Name``) or ``path/to/file.py:Name``.

A module is looked up on ``sys.path`` and then in the current folder, so ``algorithm: myalgo:MyAlgo``
finds ``./myalgo.py`` without ``PYTHONPATH`` (as ``python -m`` would, but also from the console
script). A ``.py`` path (relative to the current folder) is imported as a file. Failures are one
:class:`~pretrainzero.errors.UserError` line naming the reference and the fix.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from .errors import UserError


def split_reference(ref: str) -> tuple[str, str]:
    """``("module or file.py", "Name")`` from ``module:Name``, ``file.py:Name`` or ``module.Name``."""
    target, sep, attr = ref.rpartition(":")
    if not sep or (len(target) == 1 and target.isalpha()):  # no colon, or only a Windows drive letter
        target, sep, attr = ref.rpartition(".")
    if not sep or not target or not attr:
        raise UserError(
            f"{ref!r} is not a reference to Python code: write 'module:Name' or 'path/to/file.py:Name'"
        )
    return target, attr


def _import_file(path: Path) -> Any:
    name = f"pretrainzero_user_{path.stem}_{abs(hash(str(path.resolve()))):x}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec: dataclasses and pickling look the module up
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        top = name.split(".")[0]
        cwd = Path.cwd()
        if exc.name != top or not ((cwd / f"{top}.py").is_file() or (cwd / top).is_dir()):
            raise
        if os.getcwd() not in sys.path:
            sys.path.append(os.getcwd())  # after installed packages: a user file never shadows them
        return importlib.import_module(name)


def load_object(ref: str, what: str) -> Any:
    """The object a reference names; ``what`` (e.g. "algorithm") words the error message."""
    target, attr = split_reference(ref)
    try:
        if target.endswith(".py"):
            path = Path(target).expanduser()
            if not path.is_file():
                raise UserError(
                    f"{what} {ref!r}: no file {path} (relative paths start at the current folder "
                    f"{Path.cwd()})"
                )
            module = _import_file(path)
        else:
            module = _import_module(target)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the user's module raises on import
        raise UserError(
            f"cannot import {what} {ref!r}: {type(exc).__name__}: {exc}. Give 'module:Name' with the "
            "module importable or in the current folder, or 'path/to/file.py:Name'"
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UserError(f"{what} {ref!r}: {target} has no {attr!r}") from None
