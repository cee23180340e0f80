"""`pretrainzero eval`: an end-to-end run writes results + samples; bad input is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrainzero.cli import main
from pretrainzero.record import validate_record


def _err_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    return err[0]


def test_eval_writes_records(tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["eval", "--model", str(tiny_model_dir), "--model-name", "tiny", "--benchmarks", "gsm8k,mmlu",
               "--protocol", "pz-0shot-boxed", "--limit", "2", "--max-new-tokens", "3", "--batch-size", "2",
               "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    out = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    # a subset run's id carries its subset tag; the generation cache is the benchmark's, shared with full runs
    assert [o["id"] for o in out] == ["tiny__gsm8k__pz-0shot-boxed-v2__first2", "tiny__mmlu__pz-0shot-boxed-v2__first2"]
    assert out[0]["deviations"] == ["max_new_tokens=3 (protocol: 8192)"]
    assert out[0]["subset"] == "first 2 of 1319"
    for o in out:
        rec = json.loads((tmp_path / f"{o['id']}.json").read_text())
        assert validate_record(rec) == []
        assert rec["config"]["batch_size"] == 2 and rec["config"]["limit"] == 2
        assert (tmp_path / rec["samples_file"]).exists()
        assert (tmp_path / "cache" / f"{o['id'].removesuffix('__first2')}.jsonl").exists()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--benchmarks", "nosuch", "--protocol", "pz-0shot-boxed"], "unknown benchmark 'nosuch'"),
        (["--benchmarks", "gsm8k", "--protocol", "nosuch"], "unknown protocol 'nosuch'"),
        (["--benchmarks", "gsm8k", "--protocol", "mmlu-pro-official"], "does not cover benchmark 'gsm8k'"),
        (["--benchmarks", "gsm8k", "--protocol", "pz-0shot-boxed", "--limit", "0"], "limit must be a positive"),
        (["--benchmarks", "gsm8k", "--protocol", "pz-0shot-boxed", "--backend", "openai"], "--base-url"),
        (["--benchmarks", "gsm8k", "--protocol", "pz-0shot-boxed", "--backend", "vllm", "--vllm-kwargs", "{eager"],
         "--vllm-kwargs must be a JSON object"),
        (["--benchmarks", "gsm8k", "--protocol", "pz-0shot-boxed", "--vllm-kwargs", "{}"],
         "--vllm-kwargs applies to --backend vllm"),
    ],
)
def test_bad_input_is_one_line(argv: list[str], needle: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    # `tiny` (an alias) passes the model check, which fails fast on an unknown name when the Hub is unreachable
    rc = main(["eval", "--model", "tiny", "--out", str(tmp_path), *argv])
    assert rc == 2
    assert needle in _err_line(capsys)
    assert not list(tmp_path.glob("*.json"))


def test_missing_data_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rc = main(["eval", "--model", "tiny", "--benchmarks", "math500", "--protocol", "pz-0shot-boxed",
               "--data-dir", str(tmp_path), "--out", str(tmp_path)])
    assert rc == 2
    line = _err_line(capsys)
    assert "math500" in line and "test.jsonl" in line
