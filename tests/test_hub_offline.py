"""A machine that cannot reach the Hugging Face Hub (``HF_HUB_OFFLINE`` not set): a model name that
is neither a folder nor cached, a streamed ``hf:`` corpus and an uncached benchmark dataset each
fail at once with one line naming the input; a cached hub model loads at once. Before
``pretrainzero.hub`` each sat through huggingface_hub's retries (about a minute, a line per retry)
and ended in a message that did not name the input.

The Hub is made unreachable by pointing ``constants.ENDPOINT`` at a closed local port, so the
tests behave the same with or without network. Run: pytest tests/test_hub_offline.py
"""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest

from pretrainzero.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unreachable_hub(tmp_path, monkeypatch):
    from huggingface_hub import constants

    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    cache = tmp_path / "hf-hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("PRETRAINZERO_ENV_PATH", str(tmp_path / "envs"))
    monkeypatch.chdir(tmp_path)
    return cache


def _one_line(capsys, argv: list[str]) -> str:
    t0 = time.perf_counter()
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert err.startswith("error: ") and "\n" not in err, err
    assert time.perf_counter() - t0 < 20, "no retries against an unreachable Hub"
    return err


def test_a_missing_model_folder_name_fails_at_once(unreachable_hub, capsys):
    train = ["train", "--recipe", str(ROOT / "agents" / "tiny-test.yaml"), "--out", "run", "--set", "model=my-model"]
    err = _one_line(capsys, train)
    assert "model 'my-model' is not a local folder" in err and "Hub" in err and "unreachable" in err
    assert not Path("run").exists()  # refused before the run folder was made
    ev = ["eval", "--model", "my-model", "--benchmarks", "gsm8k", "--protocol", "pz-0shot-boxed", "--limit", "1"]
    assert "model 'my-model' is not a local folder" in _one_line(capsys, ev)


def test_a_cached_hub_model_loads_without_the_hub(unreachable_hub, tiny_model_dir):
    from pretrainzero.models import check_model_reference, load_model

    repo = unreachable_hub / "models--someone--tiny"
    revision = "0" * 40
    shutil.copytree(tiny_model_dir, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    check_model_reference("someone/tiny")
    t0 = time.perf_counter()
    model, tok = load_model("someone/tiny")
    assert time.perf_counter() - t0 < 20 and tok.pad_token_id is not None and model.config.vocab_size > 0


def test_a_streamed_hf_corpus_fails_at_once(unreachable_hub, capsys):
    err = _one_line(capsys, ["corpus", "add", "hub-probe-test", "--source", "hf:someone/some-dataset"])
    assert "cannot load hf:someone/some-dataset" in err and "unreachable" in err and "Offline" in err


def test_an_uncached_benchmark_dataset_fails_at_once(unreachable_hub, capsys):
    ev = ["eval", "--model", "tiny", "--benchmarks", "math500", "--protocol", "pz-0shot-boxed", "--limit", "1"]
    err = _one_line(capsys, ev)
    assert "benchmark 'math500' not found" in err and "--data-dir" in err
