"""Adding a benchmark is one new module plus its protocol entry: proven end to end without editing
any file of the package. A throwaway module written to tmp_path declares a math benchmark; the
protocol entry (the name in pz-0shot-boxed's coverage) is made in memory; an OpenAI-compatible
server on 127.0.0.1 answers two questions right and one with another question's answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pretrainzero.eval import registry as eval_registry
from pretrainzero.eval.benchmarks import BENCHMARKS, load_benchmark, load_benchmark_module, unregister_benchmark
from pretrainzero.eval.protocols import PROTOCOLS
from pretrainzero.eval.runner import run_evals
from pretrainzero.leaderboard import checks
from pretrainzero.record import parse_record, validate_record

MODULE = '''
"""Toy counting questions (made up for a test)."""
from pretrainzero.eval.benchmarks.convert import math_rows
from pretrainzero.eval.benchmarks.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="toy_count", display="ToyCount", title="Toy counting", kind="math",
    convert=math_rows(("problem",), category_key="level"), category_field="level",
    hf_id=None, hf_config=None, split="test", expected_rows=3, local_files=("toy.jsonl",),
)
'''
ROWS = [
    {"id": "t1", "problem": "Made-up: how many legs have two made-up tripods?", "answer": "6", "level": "easy"},
    {"id": "t2", "problem": "Made-up: half of a made-up dozen?", "answer": "6", "level": "easy"},
    {"id": "t3", "problem": "Made-up: how many sides has a made-up heptagon?", "answer": "7", "level": "hard"},
]
# The oracle's answers: t3 gets another question's gold (must be graded wrong).
REPLIES = {ROWS[0]["problem"]: "6", ROWS[1]["problem"]: "6.0", ROWS[2]["problem"]: "6"}


class _Oracle:
    def __init__(self) -> None:
        self.messages: list[list[dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.messages.append(body["messages"])
                question = body["messages"][-1]["content"].split("\n\n")[0]
                text = f"Counting carefully, the final answer is $\\boxed{{{REPLIES[question]}}}$."
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": text},
                                                "finish_reason": "stop"}], "usage": {"completion_tokens": 9}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The new module (tmp_path/toy_count.py), its data, and the protocol entry; removed afterwards."""
    module = tmp_path / "toy_count.py"
    module.write_text(MODULE, encoding="utf-8")
    data = tmp_path / "data" / "toy_count"
    data.mkdir(parents=True)
    (data / "toy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    load_benchmark_module(module)
    pz = PROTOCOLS["pz-0shot-boxed"]
    monkeypatch.setitem(PROTOCOLS, pz.id, replace(pz, benchmarks=(*pz.benchmarks, "toy_count")))
    eval_registry.registry.cache_clear()  # the runner's and submit's checks read the registries once
    try:
        yield tmp_path / "data"
    finally:
        unregister_benchmark("toy_count")
        eval_registry.registry.cache_clear()


def test_new_benchmark_module_runs_end_to_end(toy: Path, tmp_path: Path) -> None:
    assert BENCHMARKS["toy_count"].display == "ToyCount"
    bench = load_benchmark("toy_count", toy, allow_hub=False)  # official row count (3) holds
    assert [s.kind for s in bench.samples] == ["math"] * 3 and bench.samples[2].category == "hard"
    oracle = _Oracle()
    try:
        (rec,) = run_evals({"model": "oracle", "benchmarks": ["toy_count"], "protocol": "pz-0shot-boxed",
                            "backend": "openai", "base_url": oracle.url, "data_dir": str(toy)}, tmp_path / "out")
    finally:
        oracle.close()
    # the kind's prompt (pz-0shot-boxed's math messages), nothing benchmark-specific
    assert [m["role"] for m in oracle.messages[0]] == ["system", "user"]
    assert oracle.messages[0][1]["content"].endswith("put your final answer within \\boxed{}.")
    assert rec["id"] == "oracle__toy_count__pz-0shot-boxed-v2" and rec["subset"] is None
    assert rec["metrics"]["score"] == pytest.approx(2 / 3)  # "6.0" equals 6; t3's borrowed answer does not
    assert rec["per_category"]["easy"]["score"] == 1.0 and rec["per_category"]["hard"]["score"] == 0.0
    assert validate_record(rec, eval_registry.registry()) == []  # submit would accept it: covered, official count
    assert checks.submission_problems(parse_record(rec)) == []
    rows = [json.loads(x) for x in (tmp_path / "out" / rec["samples_file"]).read_text().splitlines()]
    assert [r["score"] for r in rows] == [1.0, 1.0, 0.0] and rows[0]["response"]  # not restricted


def test_module_without_benchmark_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "nothing_here.py"
    bad.write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(Exception, match="BENCHMARK"):
        load_benchmark_module(bad)


def test_protocol_refuses_a_kind_it_does_not_serve(toy: Path) -> None:
    official = PROTOCOLS["mmlu-pro-official"]  # an MCQ-only protocol
    with pytest.raises(ValueError, match="kind 'math'"):
        replace(official, benchmarks=("toy_count",)).check_coverage()
