"""The benchmark scripts stay runnable: each parses ``--help`` and finds its packaged data.

They are not timed here (numbers live in their output, see benchmarks/README.md); this only
catches an API drift that would make a script crash before it measures anything.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_parses_help(script: Path) -> None:
    out = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage:" in out.stdout


def test_eval_vs_lmeval_finds_the_packaged_gsm8k_file() -> None:
    spec = importlib.util.spec_from_file_location("eval_vs_lmeval", ROOT / "benchmarks" / "eval_vs_lmeval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = module._gsm8k_file()
    assert path.is_file() and path.stat().st_size > 100_000  # the 1,319-question test split


def test_gpu_check_passes_on_cpu(tmp_path: Path) -> None:
    """The prepared device check (benchmarks/gpu_check.py) runs its whole script on CPU, small."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--device", "cpu",
                          "--out", str(tmp_path), "--hidden", "128", "--decode-tokens", "16", "--decode-rows", "4"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    info = json.loads((tmp_path / "gpu_check.json").read_text())
    assert info["checks"] and all(info["checks"].values()), info["checks"]
    assert info["train"]["changed_fraction"] >= 0.99 and info["decode"]["new_tokens"] == 4 * 16
