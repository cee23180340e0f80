"""The eval runner's records through the leaderboard: validate, submit, render, reproduce.

Uses the real runner (pretrainzero.eval.runner) with a canned backend on the packaged GSM8K copy,
so a drift between the record the runner writes and the schema the leaderboard checks fails here.
Run: pytest tests/test_leaderboard_integration.py
"""

from __future__ import annotations

import argparse

import pytest

from pretrainzero.cli import leaderboard as cli
from pretrainzero.leaderboard.store import load_records
from pretrainzero.record import validate_record

runner = pytest.importorskip("pretrainzero.eval.runner")
backends = pytest.importorskip("pretrainzero.eval.backends")


class CannedBackend:
    """Always answers 18 (right for the first GSM8K test question, wrong for the next two)."""

    name = "canned"

    def generate(self, prompts, params, seeds, progress=None):
        if progress:
            progress(len(prompts))
        return [
            backends.Generation("Step by step... The answer is \\boxed{18}.", "stop", 12) for _ in prompts
        ]

    def versions(self):
        return {"canned": "1"}

    def model_info(self):
        return {"source": "canned", "sha256": None}


CONFIG = {
    "model": "canned",
    "model_name": "Canned-Model",
    "benchmarks": ["gsm8k"],
    "protocol": "pz-0shot-boxed",
    "backend": "transformers",
    "limit": 3,
}


@pytest.fixture(scope="module")
def produced(tmp_path_factory):
    from pretrainzero.eval.benchmarks import BenchmarkDataError

    out = tmp_path_factory.mktemp("eval")
    try:
        [record] = runner.run_evals(CONFIG, out, backend=CannedBackend())
    except BenchmarkDataError as exc:  # the packaged GSM8K copy is not installed
        pytest.skip(str(exc))
    return record, out


def run(argv):
    parser = argparse.ArgumentParser(prog="pretrainzero")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_runner_record_passes_the_leaderboard_schema(produced):
    record, out = produced
    assert validate_record(record) == []
    assert record["id"] == "canned-model__gsm8k__pz-0shot-boxed-v2__first3"
    assert (
        record["subset"] == {"limit": 3, "label": record["subset"]["label"]}
        and "3" in record["subset"]["label"]
    )
    assert record["metrics"]["score"] == pytest.approx(1 / 3)
    assert (out / record["samples_file"]).is_file()


def test_submit_render_and_reproduce_a_runner_record(produced, tmp_path, monkeypatch, capsys):
    record, out = produced
    root = tmp_path / "lb"
    root.mkdir()
    assert run(["leaderboard", "--root", str(root), "submit", str(out / f"{record['id']}.json")]) == 0
    [rec] = load_records(root / "results")
    assert (root / "results" / rec.record.samples_file).is_file()
    md = (root / "README.md").read_text()
    assert "| Canned-Model (subset) | 33.33 ± 33.33ˢ <sub>miss " in md
    # Reproduce through the real runner; only the model loading is replaced by the canned backend.
    monkeypatch.setattr(runner, "make_backend", lambda cfg: CannedBackend())
    capsys.readouterr()
    assert run(["leaderboard", "--root", str(root), "reproduce", rec.id, "--out", str(tmp_path / "re")]) == 0
    text = capsys.readouterr().out
    assert "difference +0.00 points" in text and "WITHIN tolerance" in text
    assert (tmp_path / "re" / f"{rec.id}.json").is_file()


def test_regrade_rescores_stored_responses_into_a_typed_record(produced, tmp_path, capsys):
    import json

    record, out = produced
    root = tmp_path / "lb"
    root.mkdir()
    assert run(["leaderboard", "--root", str(root), "submit", str(out / f"{record['id']}.json"), "--no-render"]) == 0
    [rec] = load_records(root / "results")
    samples = root / "results" / rec.record.samples_file
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    rows[1]["response"] = f"The answer is \\boxed{{{rows[1]['answer']}}}."  # now right on the second question
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run(["leaderboard", "--root", str(root), "regrade", rec.id, "--no-render"]) == 0
    assert f"{rec.id} -> {rec.id}: 33.33 -> 66.67" in capsys.readouterr().out
    [new] = load_records(root / "results")
    assert new.score == pytest.approx(2 / 3) and "re-graded" in (new.record.notes or "")
    rows[0]["prompt_hash"] = "0" * 64  # another prompt than the protocol sends: refused, one line
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run(["leaderboard", "--root", str(root), "regrade", rec.id, "--no-render"]) == 1
    assert "skipped:" in capsys.readouterr().out and load_records(root / "results")[0].score == pytest.approx(2 / 3)
