"""Results: metrics (mean@k, stderr, miss/truncation rates, per category), record schema, atomic
writes, redaction of restricted benchmarks, and the resumable cache file format."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from pretrainzero.eval import cache as gen_cache
from pretrainzero.eval.results import (
    build_record,
    compute_metrics,
    make_row,
    read_samples,
    write_results,
)
from pretrainzero.fileio import atomic_copy, atomic_write_text
from pretrainzero.record import RecordError, ResultsRecord, validate_record


def _row(qid: str, k: int, score: float, *, missed: bool = False, reason: str = "stop", cat: str | None = "a",
         restricted: bool = False, text: str = "resp"):
    return make_row(sample_id=qid, k_index=k, category=cat, prompt_hash="0" * 64, response=text, extracted=None,
                    answer="1", score=score, missed=missed, finish_reason=reason, n_tokens=3, restricted=restricted)


def test_mean_at_k_metrics() -> None:
    rows = [_row("q1", 0, 1.0), _row("q1", 1, 0.0, reason="length"),
            _row("q2", 0, 1.0, missed=True, cat="b"), _row("q2", 1, 1.0, cat="b"),
            _row("q3", 0, 0.0, missed=True, reason="length", cat="b"), _row("q3", 1, 0.0, cat="b")]
    m, per_cat = compute_metrics(rows)
    per_q = [0.5, 1.0, 0.0]
    assert m["score"] == pytest.approx(0.5)
    sd = math.sqrt(sum((x - 0.5) ** 2 for x in per_q) / 2)
    assert m["stderr"] == pytest.approx(sd / math.sqrt(3))
    assert m["miss_rate"] == pytest.approx(2 / 6)
    assert m["truncation_rate"] == pytest.approx(2 / 6)
    assert m["score_misses_wrong"] == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    assert (m["k"], m["n_questions"], m["n_generations"]) == (2, 3, 6)
    assert per_cat == {"a": {"score": 0.5, "n": 1}, "b": {"score": 0.5, "n": 2}}


def test_metrics_need_rows() -> None:
    with pytest.raises(ValueError):
        compute_metrics([])


def test_restricted_rows_keep_only_hashes() -> None:
    r = _row("q", 0, 1.0, restricted=True, text="the question text quoted back")
    assert r.response is None
    assert len(r.response_sha256) == 64
    assert "question text" not in json.dumps(r.to_dict())


def _record(rows: list, **overrides) -> ResultsRecord:
    metrics, per_cat = compute_metrics(rows)
    args = dict(
        row_id="m__gsm8k__pz-0shot-boxed", model={"name": "m", "source": "m", "sha256": None}, benchmark="gsm8k",
        subset={"limit": 2, "label": "first 2 of 1319"}, protocol={"id": "pz-0shot-boxed", "version": 1},
        config={"model": "m", "benchmarks": ["gsm8k"], "protocol": "pz-0shot-boxed", "protocol_deviations": []},
        dataset={"source": "x", "revision": None, "sha256": "ab", "n_total": 1319, "n_evaluated": 2},
        decoding={"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 8, "k": 1, "seed": 0},
        engine={"backend": "transformers", "versions": {"torch": "x"}}, metrics=metrics, per_category=per_cat,
        samples_file="samples/m__gsm8k__pz-0shot-boxed.jsonl",
    )
    return build_record(**{**args, **overrides})


def test_record_validates_and_round_trips(tmp_path: Path) -> None:
    rows = [_row("q1", 0, 1.0), _row("q2", 0, 0.0)]
    rec = _record(rows)
    assert validate_record(rec.to_dict()) == []
    assert rec.created_at.endswith("Z") and rec.source == "measured"
    path = write_results(rec, rows, tmp_path)
    assert json.loads(path.read_text()) == rec.to_dict()
    assert read_samples(tmp_path / rec.samples_file) == [r.to_dict() for r in rows]
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_schema_catches_a_bad_record() -> None:
    rec = _record([_row("q1", 0, 1.0)]).to_dict()
    rec["subset"] = None  # 1 of 1319 evaluated but not labelled as a subset
    assert any(e.startswith("subset") for e in validate_record(rec))
    with pytest.raises(RecordError, match="subset: null"):  # eval refuses to build it at all
        _record([_row("q1", 0, 1.0)], subset=None)
    # ... nor one the registries contradict: GSM8K has 1319 items, not 2.
    full_of_two = {"source": "x", "revision": None, "sha256": "ab", "n_total": 2, "n_evaluated": 1}
    with pytest.raises(RecordError, match="dataset.n_total: gsm8k has 1319 items"):
        _record([_row("q1", 0, 1.0)], subset={"limit": 1, "label": "first 1 of 2"}, dataset=full_of_two)


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    atomic_write_text(target, "old")

    with pytest.raises(TypeError):
        atomic_write_text(target, 123)  # type: ignore[arg-type]  # write fails mid-way
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    with pytest.raises(FileNotFoundError):
        atomic_copy(tmp_path / "missing.bin", target)  # a copy that cannot start leaves the old file too
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    atomic_write_text(tmp_path / "new" / "r.txt", "a\nb\n")  # creates the folder, writes \n line ends
    assert (tmp_path / "new" / "r.txt").read_bytes() == b"a\nb\n"


def test_cache_skips_torn_lines_and_appends_on_fresh_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    a = gen_cache.CachedGeneration("k1", "text one", "stop", 2)
    b = gen_cache.CachedGeneration("k2", "text two", "length", 5)
    gen_cache.append(path, [a])
    with path.open("a") as fh:
        fh.write('{"key": "k3", "te')  # killed mid-write
    assert set(gen_cache.load(path)) == {"k1"}
    gen_cache.append(path, [b])
    assert gen_cache.load(path) == {"k1": a, "k2": b}
    assert os.path.getsize(path) == len(path.read_text().encode())


def test_cache_key_depends_on_every_part() -> None:
    base = ("s1", "h", {"temperature": 0.0, "max_new_tokens": 8}, 0, "model")
    k = gen_cache.generation_key(*base)
    assert k == gen_cache.generation_key(*base)
    variants = [("s2", *base[1:]), (base[0], "h2", *base[2:]), (*base[:2], {"temperature": 0.0, "max_new_tokens": 9},
                *base[3:]), (*base[:3], 1, base[4]), (*base[:4], "other")]
    assert len({gen_cache.generation_key(*v) for v in variants} | {k}) == 6
    assert gen_cache.prompt_hash([{"role": "user", "content": "x"}]) != gen_cache.prompt_hash("x")
