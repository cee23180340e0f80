"""Shared fixtures. Run the default suite with `make test` (or `pytest`); `pytest -m slow` adds long tests.

Nothing here downloads: the tiny model is a random-init Llama with a BPE trained on the spot.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~100k-parameter random Llama + byte-level BPE tokenizer with a ChatML template."""
    from pretrainzero.models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    """``(model, tokenizer)`` of the tiny model, loaded once per test module (modules may train it)."""
    from pretrainzero.models import load_model

    return load_model(str(tiny_model_dir))


try:  # tiny models gain nothing from threads, and on a busy 2-core machine extra threads cost ~40x
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass
