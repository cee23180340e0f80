"""Our runs in lm-evaluation-harness's results shape, checked with lm-eval 0.4.13's own code.

``lm_eval.result_schema.EvalResults`` (the TypedDict lm-eval 0.4.13 declares for its results) is
validated with pydantic in strict mode, and the file name with ``lm_eval.utils``'s own helpers.
The Makefile installs lm-eval (--no-deps: those two modules import only numpy, requests, yaml and
jinja2). Where lm-eval is absent, the field set and value types verified against it (in a full
lm-eval 0.4.13 install, including ``lm_eval.utils.make_table`` rendering the file) are checked
directly. Run: pytest tests/test_record_lmeval.py
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest

from pretrainzero.leaderboard.store import load_records, record_files
from pretrainzero.record import RecordError, parse_record
from pretrainzero.record.lmeval import LMEVAL_DIR, results_path, sanitize_model_name, task_hash, to_lmeval

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "leaderboard" / "record.json").read_text())
TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}<|assistant|>"

runner = pytest.importorskip("pretrainzero.eval.runner")
backends = pytest.importorskip("pretrainzero.eval.backends")

# What lm-eval 0.4.13's EvalResults declares for the keys we write (checked where lm-eval is absent).
TOP_LEVEL = {"results": dict, "group_subtasks": dict, "configs": dict, "versions": dict, "n-shot": dict,
             "higher_is_better": dict, "n-samples": dict, "config": dict, "git_hash": str, "date": float,
             "task_hashes": dict, "chat_template_sha": (str, type(None)), "model_source": str, "model_name": str,
             "model_name_sanitized": str}


def _check_shape(data: dict) -> None:
    try:
        from lm_eval.result_schema import EvalResults
        from pydantic import TypeAdapter
    except ImportError:
        assert set(data) == set(TOP_LEVEL), set(data) ^ set(TOP_LEVEL)
        for key, kind in TOP_LEVEL.items():
            assert isinstance(data[key], kind), key
        for task, metrics in data["results"].items():
            assert {"name", "alias", "sample_len"} <= set(metrics)
            assert all(isinstance(v, (int, float, bool)) for k, v in metrics.items() if "," in k)
            assert all(v is None or isinstance(v, (str, bool)) for v in data["configs"][task].values())
            assert set(data["n-samples"][task]) == {"original", "effective"}
            assert isinstance(data["n-shot"][task], int) and isinstance(data["versions"][task], float)
        return
    TypeAdapter(EvalResults).validate_python(data, strict=True)
    assert set(data) <= set(EvalResults.__annotations__)


class CannedBackend:
    """Answers 18 to everything, rendering chat prompts with a fixed template."""

    name = "canned"

    def __init__(self) -> None:
        self.tok = type("Tok", (), {"chat_template": TEMPLATE})()

    def generate(self, prompts, params, seeds, progress=None):
        return [backends.Generation("So the final answer is \\boxed{18}.", "stop", 9) for _ in prompts]

    def versions(self):
        return {"canned": "1"}

    def model_info(self):
        return {"source": "canned", "sha256": None}


@pytest.fixture(scope="module")
def run_out(tmp_path_factory):
    from pretrainzero.eval.benchmarks import BenchmarkDataError

    out = tmp_path_factory.mktemp("eval")
    config = {"model": "org/Canned-7B", "model_name": "org/Canned-7B", "benchmarks": ["gsm8k", "mmlu"],
              "protocol": "pz-0shot-boxed", "backend": "transformers", "limit": 2}
    try:
        records = runner.run_evals(config, out, backend=CannedBackend())
    except BenchmarkDataError as exc:  # a packaged copy is not installed
        pytest.skip(str(exc))
    return records, out


def test_eval_writes_lmeval_results_that_lm_eval_reads(run_out) -> None:
    records, out = run_out
    [path] = list((out / LMEVAL_DIR).rglob("*.json"))
    assert path.parent.name == "org__Canned-7B" and path.name.startswith("results_")
    data = json.loads(path.read_text())
    _check_shape(data)
    gsm = data["results"]["gsm8k"]
    rec = next(r for r in records if r["benchmark"] == "gsm8k")
    assert gsm["exact_match,pz-0shot-boxed"] == rec["metrics"]["score"]
    assert gsm["exact_match_stderr,pz-0shot-boxed"] == rec["metrics"]["stderr"]
    assert data["results"]["mmlu"]["miss_rate,pz-0shot-boxed"] == 1.0  # "18" is no option letter
    assert data["n-samples"]["gsm8k"] == {"original": 1319, "effective": 2}
    assert data["versions"]["gsm8k"] == 2.0 and data["n-shot"] == {"gsm8k": 0, "mmlu": 0}
    assert data["higher_is_better"]["gsm8k"]["exact_match"] is True
    assert data["higher_is_better"]["gsm8k"]["miss_rate"] is False
    assert data["chat_template_sha"] == hashlib.sha256(TEMPLATE.encode()).hexdigest()
    samples = [json.loads(line) for line in (out / rec["samples_file"]).read_text().splitlines()]
    assert data["task_hashes"]["gsm8k"] == task_hash(samples) and len(data["task_hashes"]["gsm8k"]) == 64
    assert data["configs"]["gsm8k"]["pretrainzero_row_id"] == rec["id"]
    assert data["date"] == min(datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")).timestamp()
                               for r in records)


def test_lmeval_file_name_follows_lm_eval_helpers(run_out) -> None:
    utils = pytest.importorskip("lm_eval.utils")
    records, out = run_out
    [path] = list((out / LMEVAL_DIR).rglob("*.json"))
    later = path.with_name("results_2099-01-01T00-00-00.json")
    assert utils.get_results_filenames([str(path), str(out / "samples" / "x.jsonl")]) == [str(path)]
    assert utils.get_latest_filename([str(path), str(later)]) == str(later)
    for name in ("org/Canned-7B", "a:b|c", "plain"):
        assert sanitize_model_name(name) == utils.sanitize_model_name(name)


def test_store_skips_lmeval_folders_and_nothing_else(run_out, tmp_path) -> None:
    records, out = run_out
    lm_file = next((out / LMEVAL_DIR).rglob("*.json"))
    with pytest.raises(RecordError):  # another schema: the store must not read it as a record
        parse_record(json.loads(lm_file.read_text()))
    assert {r.id for r in load_records(out)} == {r["id"] for r in records}
    assert lm_file not in record_files(out)
    # Only a folder named lm-eval is skipped; a stray JSON anywhere else still fails loudly.
    (out / "nested").mkdir()
    (out / "nested" / "lm-eval.json").write_text("{}")
    assert out / "nested" / "lm-eval.json" in record_files(out)


def test_cli_flag_turns_it_off(tmp_path, monkeypatch) -> None:
    import argparse

    from pretrainzero.cli import eval as eval_cli

    seen = {}
    monkeypatch.setattr(runner, "run_evals", lambda *a, **kw: seen.update(kw) or [])
    parser = argparse.ArgumentParser()
    eval_cli.register(parser.add_subparsers(dest="command"))
    base = ["eval", "--model", "smollm2-135m", "--benchmarks", "gsm8k", "--protocol", "pz-0shot-boxed",
            "--out", str(tmp_path / "o")]
    for extra, expected in (([], True), (["--no-lm-eval"], False)):
        args = parser.parse_args(base + extra)
        assert args.func(args) == 0 and seen["lm_eval"] is expected


def test_conversion_refuses_mixed_models_and_keeps_unknowns_out() -> None:
    a = parse_record(FIXTURE)
    b = parse_record({**FIXTURE, "model": {**FIXTURE["model"], "name": "Other"}, "id": FIXTURE["id"].replace(
        "smollm2-135m-instruct", "other")})
    with pytest.raises(ValueError, match="one model"):
        to_lmeval([a, b])
    data = to_lmeval([parse_record({**FIXTURE, "metrics": {**FIXTURE["metrics"], "stderr": None}})])
    _check_shape(data)
    assert "exact_match_stderr,pz-0shot-boxed" not in data["results"]["gsm8k"]  # unknown, not "N/A"
    assert data["task_hashes"] == {} and data["git_hash"] == "513eac8"
    assert results_path("o", [a]).as_posix() == "o/lm-eval/SmolLM2-135M-Instruct/results_2026-11-25T22-00-00.json"


def test_n_shot_of_every_protocol() -> None:
    from pretrainzero.eval.protocols import PROTOCOLS
    from pretrainzero.eval.results import n_shot

    assert {pid: n_shot(p) for pid, p in PROTOCOLS.items()} == {
        "pz-0shot-boxed": 0, "mmlu-pro-official": 5, "supergpqa-official": 0, "supergpqa-official-5shot": 5}
