"""`pretrainzero leaderboard` verbs. Run: pytest tests/test_leaderboard_cli.py"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import pytest

from pretrainzero.cli import leaderboard as cli
from pretrainzero.leaderboard.reproduce import compare, eval_command, reproduce_config
from pretrainzero.leaderboard.store import load_records
from pretrainzero.record import Metrics, parse_record

FIXTURES = Path(__file__).parent / "fixtures" / "leaderboard"
RECORD = json.loads((FIXTURES / "record.json").read_text())
ROW = RECORD["id"]


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pretrainzero")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "lb"
    root.mkdir()
    assert run(["leaderboard", "--root", str(root), "submit", str(FIXTURES / "record.json")]) == 0
    return root


def test_submit_copies_record_and_samples_and_renders(root):
    assert (root / "results" / f"{ROW}.json").is_file()
    assert (root / "results" / "samples" / f"{ROW}.jsonl").is_file()
    assert ROW in (root / "README.md").read_text() and (root / "index.html").is_file()


def test_submit_duplicate_is_refused_then_replaced(root, tmp_path):
    changed = dict(RECORD, metrics=dict(RECORD["metrics"], score=0.07), samples_file=None)
    src = tmp_path / "again.json"
    src.write_text(json.dumps(changed))
    with pytest.raises(ValueError, match="--replace"):
        run(["leaderboard", "--root", str(root), "submit", str(src)])
    assert run(["leaderboard", "--root", str(root), "submit", str(src), "--replace"]) == 0
    [rec] = load_records(root / "results")
    assert rec.score == 0.07 and "7.00" in (root / "README.md").read_text()


def test_render_reports_counts_and_check_detects_staleness(root, capsys):
    assert run(["leaderboard", "--root", str(root), "render"]) == 0
    assert "rendered 1 records into 1 cells" in capsys.readouterr().out
    assert run(["leaderboard", "--root", str(root), "render", "--check"]) == 0
    (root / "README.md").write_text("hand edited\n")
    assert run(["leaderboard", "--root", str(root), "render", "--check"]) == 1


def test_list_prints_rows(root, capsys):
    assert run(["leaderboard", "--root", str(root), "list"]) == 0
    out = capsys.readouterr().out
    assert ROW in out and "3.00 ± 1.70" in out and "first 100 of 1319" in out


def test_reproduce_dry_run_prints_the_stored_config(root, capsys):
    assert run(["leaderboard", "--root", str(root), "reproduce", ROW, "--dry-run", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    stored = json.loads(out.split("stored config:\n", 1)[1].split("\n# would call", 1)[0])
    assert stored == RECORD["config"]
    assert (
        "pretrainzero eval --model SmolLM2-135M-Instruct --benchmarks gsm8k --protocol pz-0shot-boxed" in out
    )
    assert "--limit 5" in out and "--seed 1234" in out


def test_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass --root"):
        run(["leaderboard", "--root", str(tmp_path / "absent"), "render"])
    assert not (tmp_path / "absent").exists()


def test_reproduce_unknown_row_names_it(root):
    with pytest.raises(KeyError, match="no row 'nope__gsm8k__x'"):
        run(["leaderboard", "--root", str(root), "reproduce", "nope__gsm8k__x", "--dry-run"])


def _fake_runner(monkeypatch, score: float, stderr: float | None, calls: list):
    def run_eval(config: dict, out_dir) -> dict:
        calls.append((config, Path(out_dir)))
        new = json.loads(json.dumps(RECORD))
        new["metrics"].update(score=score, stderr=stderr)
        return new

    module = types.ModuleType("pretrainzero.eval.runner")
    module.run_eval = run_eval
    monkeypatch.setitem(sys.modules, "pretrainzero.eval.runner", module)


def test_reproduce_within_and_outside_tolerance(root, tmp_path, monkeypatch, capsys):
    calls: list = []
    _fake_runner(monkeypatch, 0.04, 0.017, calls)  # diff 1 point, tolerance 2*sqrt(2)*1.7 = 4.81 points
    assert run(["leaderboard", "--root", str(root), "reproduce", ROW, "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "stored     3.00" in out and "new        4.00" in out and "+1.00 points" in out
    assert "4.81 points (2x combined stderr): WITHIN" in out
    config, out_dir = calls[0]
    assert config == RECORD["config"] and out_dir == tmp_path / "o"
    _fake_runner(monkeypatch, 0.20, 0.017, calls)
    assert run(["leaderboard", "--root", str(root), "reproduce", ROW, "--out", str(tmp_path / "o2")]) == 1
    assert "OUTSIDE" in capsys.readouterr().out


def test_reproduce_without_runner_errors_clearly(root, monkeypatch, capsys):
    from pretrainzero.cli import main

    monkeypatch.setitem(sys.modules, "pretrainzero.eval.runner", None)  # makes the import fail
    assert main(["leaderboard", "--root", str(root), "reproduce", ROW]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pretrainzero.eval.runner.run_eval" in err[0]


def test_reproduce_with_a_runner_breaking_its_contract_fails_in_one_line(root, tmp_path, monkeypatch, capsys):
    from pretrainzero.cli import main

    module = types.ModuleType("pretrainzero.eval.runner")
    module.run_eval = lambda config, out_dir: {"metrics": {"score": "high"}}
    monkeypatch.setitem(sys.modules, "pretrainzero.eval.runner", module)
    assert main(["leaderboard", "--root", str(root), "reproduce", ROW, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "without valid metrics" in err[0]


def test_reproduce_does_not_hide_a_bug_in_the_runner(root, tmp_path, monkeypatch):
    """A RuntimeError from inside the evaluation is a bug or a crash, not an expected failure:
    it propagates with its traceback instead of becoming a one-line "error:"."""
    from pretrainzero.cli import main

    def run_eval(config, out_dir):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    module = types.ModuleType("pretrainzero.eval.runner")
    module.run_eval = run_eval
    monkeypatch.setitem(sys.modules, "pretrainzero.eval.runner", module)
    with pytest.raises(RuntimeError, match="illegal memory access"):
        main(["leaderboard", "--root", str(root), "reproduce", ROW, "--out", str(tmp_path / "o")])


def test_explicit_tolerance_wins_and_missing_stderr_cannot_judge():
    stored = parse_record(dict(RECORD, tolerance=0.005))
    new = Metrics.model_validate(dict(RECORD["metrics"], score=0.04))
    c = compare(stored, new)
    assert (c.tolerance, c.tolerance_source, c.within) == (0.005, "explicit", False)
    no_se = parse_record(dict(RECORD, metrics=dict(RECORD["metrics"], stderr=None)))
    assert compare(no_se, new).within is None
    config = reproduce_config(
        parse_record(dict(RECORD, config=dict(RECORD["config"], benchmarks=["gsm8k", "aime25"]))), limit=3
    )
    assert config["benchmarks"] == ["gsm8k"] and config["limit"] == 3
    assert eval_command(config).startswith("pretrainzero eval --model SmolLM2-135M-Instruct")


def test_verb_is_registered_in_the_console_script(capsys):
    from pretrainzero.cli import main

    with pytest.raises(SystemExit):
        main(["leaderboard", "--help"])
    assert "reproduce" in capsys.readouterr().out


def _variant(tmp_path: Path, name: str, **changes) -> Path:
    rec = json.loads(json.dumps(RECORD))
    for dotted, value in changes.items():
        obj = rec
        *head, last = dotted.split("__")
        for key in head:
            obj = obj[key]
        obj[last] = value
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(rec))
    return path


@pytest.mark.parametrize(
    ("name", "changes", "needle"),
    [
        ("unknown-protocol", {"protocol__id": "nosuch", "config__protocol": "nosuch",
                              "id": "smollm2-135m-instruct__gsm8k__nosuch"},
         "unknown protocol 'nosuch'"),
        ("version-99", {"protocol__version": 99, "id": "smollm2-135m-instruct__gsm8k__pz-0shot-boxed-v99"},
         "has no version 99"),
        ("unknown-bench", {"benchmark": "nosuch", "config__benchmarks": ["nosuch"],
                           "id": "smollm2-135m-instruct__nosuch__pz-0shot-boxed"},
         "unknown benchmark 'nosuch'"),
        ("not-covered", {"protocol__id": "mmlu-pro-official", "config__protocol": "mmlu-pro-official",
                         "id": "smollm2-135m-instruct__gsm8k__mmlu-pro-official"}, "does not cover gsm8k"),
        ("impossible-full", {"subset": None, "dataset__n_total": 2, "dataset__n_evaluated": 2}, "gsm8k has 1319 items"),
        ("wrong-sha", {"dataset__source": "PACKAGED"}, "dataset.sha256"),
        ("local-path", {"model__source": "/tmp/runs/demo1/checkpoints/step-000017"}, "path on the submitter's machine"),
    ],
)
def test_submit_refuses_impossible_records(tmp_path, capsys, name, changes, needle):
    from pretrainzero.cli import main
    from pretrainzero.eval.registry import packaged_sha

    if changes.get("dataset__source") == "PACKAGED":
        known = packaged_sha("gsm8k")
        if known is None:
            pytest.skip("packaged GSM8K not installed")
        changes["dataset__source"] = known[0]
    root = tmp_path / "lb"
    root.mkdir()
    rc = main(["leaderboard", "--root", str(root), "submit", str(_variant(tmp_path, name, **changes))])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and needle in err[0], err
    assert not list((root / "results").glob("*.json")) if (root / "results").exists() else True


def test_local_model_is_marked_and_reproduce_fails_in_one_line(tmp_path, capsys):
    from pretrainzero.cli import main

    root = tmp_path / "lb"
    root.mkdir()
    src = _variant(tmp_path, "local", model__source="/nonexistent/runs/demo1/checkpoints/step-000017")
    assert main(["leaderboard", "--root", str(root), "submit", str(src), "--local-model"]) == 0
    [rec] = load_records(root / "results")
    assert rec.record.model.local_only is True
    assert "ˡ" in (root / "README.md").read_text()
    capsys.readouterr()
    assert main(["leaderboard", "--root", str(root), "reproduce", rec.id]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists only on the submitter's machine" in err[0] and "Traceback" not in err[0]
