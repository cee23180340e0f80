"""Every verb turns expected failures into one `error: ...` line naming the input and the fix, with
exit status 2 and no traceback. Run: pytest tests/test_cli_errors.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pretrainzero.cli import main, user_message
from pretrainzero.corpus import register_corpus

ROOT = Path(__file__).resolve().parents[1]
RECIPE = str(ROOT / "agents" / "tiny-test.yaml")


@pytest.fixture()
def train_args(tiny_model_dir):
    register_corpus(
        "cli-errors-test",
        source=("A paragraph about the river Seine, which flows through Paris.",),
        min_chars=1,
    )
    return [
        "train",
        "--recipe",
        RECIPE,
        "--no-progress",
        "--set",
        f"model={tiny_model_dir}",
        "--set",
        "corpus=cli-errors-test",
    ]


def _error(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_recipe_inputs(capsys, tmp_path, train_args):
    (tmp_path / "bad.yaml").write_text("name: x\nlr: [1, 2\n")
    (tmp_path / "bin.yaml").write_bytes(b"\x00\xff\xfe")
    assert "is a folder; give a YAML file" in _error(capsys, ["train", "--recipe", str(tmp_path)])
    err = _error(capsys, ["train", "--recipe", str(tmp_path / "bad.yaml")])
    assert f"{tmp_path / 'bad.yaml'}:3:1: invalid YAML (expected ',' or ']'" in err
    assert "not a UTF-8 text file" in _error(capsys, ["train", "--recipe", str(tmp_path / "bin.yaml")])
    (tmp_path / "list.yaml").write_text("- lr: 1e-6\n- steps: 3\n")
    err = _error(capsys, ["train", "--recipe", str(tmp_path / "list.yaml")])
    assert "a recipe is a mapping of `field: value` lines, got a YAML list" in err
    assert "not found" in _error(capsys, ["train", "--recipe", str(tmp_path / "missing.yaml")])
    assert "--set lr=[1: the value is not valid YAML" in _error(capsys, [*train_args, "--set", "lr=[1"])
    assert "lr must be a finite number, got inf" in _error(capsys, [*train_args, "--set", "lr=.inf"])


def test_train_paths_device_and_model(capsys, tmp_path, train_args):
    (tmp_path / "afile").write_text("x")
    err = _error(capsys, [*train_args, "--out", str(tmp_path / "afile")])
    assert "--out" in err and "is a file, not a folder" in err
    err = _error(capsys, [*train_args, "--set", "model=./no/such/model", "--out", str(tmp_path / "r")])
    assert "model './no/such/model': no such folder" in err
    import torch

    if not torch.cuda.is_available():
        assert "sees no CUDA device: set device: cpu" in _error(capsys, [*train_args, "--set", "device=cuda"])
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.jsonl").write_text('{"step": 0}\n')
    err = _error(capsys, [*train_args, "--out", str(tmp_path / "run")])
    assert "is not empty" in err and "it has no checkpoint to resume; replace it with --overwrite" in err


def test_eval_play_check_arguments(capsys, tmp_path):
    (tmp_path / "afile").write_text("x")
    ev = [
        "eval",
        "--model",
        "smollm2-135m",
        "--benchmarks",
        "gsm8k",
        "--protocol",
        "pz-0shot-boxed",
        "--limit",
        "1",
    ]
    assert "--out" in _error(capsys, [*ev, "--out", str(tmp_path / "afile")])
    assert "is a file, not a folder" in _error(capsys, [*ev, "--out", str(tmp_path / "afile" / "sub")])
    assert "--data-dir" in _error(capsys, [*ev, "--data-dir", str(tmp_path / "afile")])
    env = "pretrainzero/wiki-vital-en-MaskedSpan-v1"
    assert "--seed -1: seeds are >= 0" in _error(capsys, ["play", env, "--seed", "-1", "-n", "1"])
    assert "-n 0: give at least 1 episode" in _error(capsys, ["check", env, "-n", "0"])


def test_eval_model_offline_and_not_cached(capsys, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    ev = ["eval", "--benchmarks", "gsm8k", "--protocol", "pz-0shot-boxed", "--limit", "1", "--out", str(tmp_path)]
    err = _error(capsys, [*ev, "--model", "someone/not-cached-model"])
    assert "model 'someone/not-cached-model' is not a local folder and not in the HF cache" in err
    assert "no such folder" in _error(capsys, [*ev, "--model", "./no/such/model"])


def test_corpus_source_that_is_a_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PRETRAINZERO_ENV_PATH", str(tmp_path / "envs"))
    err = _error(capsys, ["corpus", "add", "folder-source-test", "--source", str(tmp_path)])
    assert "is a folder: give a file, a glob such as" in err
    assert not (tmp_path / "envs").exists() or not list((tmp_path / "envs").iterdir())


def test_standard_exceptions_read_as_one_line():
    assert (
        user_message(IsADirectoryError(21, "Is a directory", "runs/x"))
        == "Is a directory: runs/x (give a file)"
    )
    assert user_message(KeyError("unknown thing 'x'")) == "unknown thing 'x'"
    assert user_message(ValueError("first line\n  second line")) == "first line second line"
    assert "optional dependency" in user_message(ModuleNotFoundError("No module named 'wandb'", name="wandb"))


def test_offline_hf_corpus_source_is_one_line(tmp_path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "PRETRAINZERO_ENV_PATH": str(tmp_path),
        "PRETRAINZERO_CACHE": str(tmp_path / "cache"),
        "HF_HOME": str(tmp_path / "hf"),
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pretrainzero",
            "corpus",
            "add",
            "offline-hf-test",
            "--source",
            "hf:someone/not-a-cached-dataset",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and "cannot load hf:someone/not-a-cached-dataset" in lines[0]
        and "Offline" in lines[0]
    )
    assert not list(tmp_path.glob("*.yaml"))  # nothing registered


def test_no_library_bars_without_a_terminal(capsys, tmp_path, train_args):
    assert main([*train_args, "--steps", "1", "--out", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    assert "Loading weights" not in captured.err and "Writing model shards" not in captured.err
    assert "train: 1/1 step (100%" in captured.out


def test_setup_errors_share_one_base_that_is_not_a_value_error():
    from pretrainzero.engines.openai import EndpointError
    from pretrainzero.errors import SetupError, UserError
    from pretrainzero.eval.backends import BackendUnavailable
    from pretrainzero.eval.benchmarks import BenchmarkDataError
    from pretrainzero.eval.grade import GraderUnavailable

    for cls in (EndpointError, BackendUnavailable, BenchmarkDataError, GraderUnavailable):
        assert issubclass(cls, SetupError) and not issubclass(cls, ValueError), cls  # no `except ValueError` eats it
    assert issubclass(UserError, ValueError) and not issubclass(UserError, SetupError)


def test_no_verb_catches_expected_failures_itself():
    import ast

    names = {"SetupError", "UserError", "BenchmarkDataError", "BackendUnavailable", "GraderUnavailable",
             "EndpointError", "RuntimeError"}  # RuntimeError: would also swallow real crashes
    offenders = []
    for path in sorted((ROOT / "pretrainzero" / "cli").glob("*.py")):
        if path.name == "__init__.py":  # the one central handler
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                caught = {n.id if isinstance(n, ast.Name) else getattr(n, "attr", "") for n in ast.walk(node.type)}
                offenders += [f"{path.name}:{node.lineno} {name}" for name in sorted(caught & names)]
    assert not offenders, offenders


def test_an_endpoint_that_does_not_answer_is_one_line_from_the_central_handler(capsys, tmp_path):
    rc = main(["eval", "--model", "m", "--benchmarks", "gsm8k", "--protocol", "pz-0shot-boxed", "--limit", "1",
               "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--max-retries", "0", "--no-progress",
               "--out", str(tmp_path)])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # after the run's progress log line
    assert rc == 2 and "Traceback" not in err, err
    assert last.startswith("error: http://127.0.0.1:9/v1/") and "--max-retries" in last, err


def test_out_below_a_file_names_the_flag(capsys, tmp_path, train_args, tiny_model_dir):
    """``--out FILE/sub`` (a file in the middle of the path) is one line naming --out, for every verb."""
    (tmp_path / "file.txt").write_text("mine")
    bad = str(tmp_path / "file.txt" / "sub")
    verbs = [
        [*train_args, "--out", bad],
        ["export", str(tiny_model_dir), "--out", bad],
        ["eval", "--model", "tiny", "--benchmarks", "gsm8k", "--protocol", "pz-0shot-boxed", "--limit", "1",
         "--out", bad],
    ]
    for argv in verbs:
        assert f"--out {bad}: {tmp_path / 'file.txt'} is a file, not a folder" in _error(capsys, argv), argv[0]
    assert (tmp_path / "file.txt").read_text() == "mine"


@pytest.mark.parametrize("argv", [["list", "envs"], ["corpus", "list"]])
def test_a_reader_that_leaves_is_no_error(argv):
    """`pretrainzero list envs | head -1`: the closed pipe ends the command quietly, with the status
    a shell gives a process ended by SIGPIPE, and no `error:` line or traceback."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written
    try:
        done = subprocess.run([sys.executable, "-m", "pretrainzero", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT)
    finally:
        os.close(write_end)
    assert done.returncode == 141 and done.stderr == "", done.stderr
