"""Where the data folders that ship with the package live: ``envs/`` (corpus YAMLs), ``agents/``
(recipes), ``leaderboards/``.

An editable install (or a checkout on ``PYTHONPATH``) reads the repository's folders; a wheel
installs copies under ``<prefix>/share/pretrainzero/`` (``[tool.setuptools.data-files]``).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shipped_dir(name: str) -> Path:
    """The repository's ``name/`` folder, else the copy a wheel installed under share/."""
    repo = REPO_ROOT / name
    return repo if repo.is_dir() else Path(sys.prefix) / "share" / "pretrainzero" / name
