"""Results records: schema validation and the store. Run: pytest tests/test_leaderboard_store.py"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrainzero.leaderboard.store import (
    DuplicateRecordError,
    InvalidRecordError,
    find_record,
    load_records,
    submit,
)
from pretrainzero.record import row_id, slug, validate_record

FIXTURES = Path(__file__).parent / "fixtures" / "leaderboard"


def make_record(
    model: str = "SmolLM2-135M-Instruct",
    benchmark: str = "gsm8k",
    protocol: str = "pz-0shot-boxed",
    score: float = 0.03,
    **top,
) -> dict:
    rec = json.loads((FIXTURES / "record.json").read_text())
    rec["model"]["name"] = model
    rec["benchmark"] = benchmark
    rec["protocol"]["id"] = protocol
    rec["config"].update(model=model, benchmarks=[benchmark], protocol=protocol)
    rec["id"] = row_id(model, benchmark, protocol)
    rec["metrics"]["score"] = score
    rec.update(top)
    return rec


def write(path: Path, rec: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))
    return path


def test_fixture_record_is_valid_and_ids_are_stable():
    assert validate_record(make_record()) == []
    assert (
        row_id("HuggingFaceTB/SmolLM2-135M-Instruct", "mmlu_pro", "pz-0shot-boxed")
        == "huggingfacetb-smollm2-135m-instruct__mmlu_pro__pz-0shot-boxed"
    )
    assert slug("Qwen2.5-7B  Base") == "qwen2.5-7b-base"


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r["metrics"].update(score=1.5), "metrics.score"),
        (lambda r: r["metrics"].update(score="0.3"), "metrics.score"),
        (lambda r: r.pop("dataset"), "dataset"),
        (lambda r: r["protocol"].update(version=0), "protocol.version"),
        (lambda r: r.update(id="wrong__id"), "id"),
        (lambda r: r.update(bogus=1), "bogus"),
        (lambda r: r.update(created_at="yesterday"), "created_at"),
        (lambda r: r.update(subset=None), "subset"),  # 100 of 1319 evaluated but not labelled a subset
        (lambda r: r["dataset"].update(n_evaluated=2000), "dataset.n_evaluated"),
        (lambda r: r["config"].update(protocol="mmlu-pro-official"), "config.protocol"),
        (lambda r: r.update(samples_file="../../etc/passwd"), "samples_file"),
        (lambda r: r["per_category"].update(algebra={"score": 2, "n": 3}), "per_category.algebra.score"),
        (lambda r: r.update(source="made-up"), "source"),
        (lambda r: r["model"].update(name="..."), "model.name"),
    ],
)
def test_invalid_record_is_rejected_naming_the_field(mutate, field):
    rec = make_record()
    mutate(rec)
    errors = validate_record(rec)
    assert errors, f"mutation of {field} was accepted"
    assert any(e.startswith(f"{field}:") or e.startswith(f"{field}.") for e in errors), errors


def test_store_round_trip_through_submit(tmp_path):
    src_dir = tmp_path / "run"
    rec = make_record()
    src = write(src_dir / "result.json", rec)
    (src_dir / "samples").mkdir()
    (src_dir / rec["samples_file"]).write_text('{"doc_id": 0}\n')
    results = tmp_path / "results"
    done = submit(src, results)
    dst = done.path
    assert (
        dst == results / f"{rec['id']}.json"
        and done.samples_path == results / "samples" / f"{rec['id']}.jsonl"
    )
    [loaded] = load_records(results)
    assert loaded.id == rec["id"] and loaded.score == rec["metrics"]["score"]
    assert loaded.record.samples_file == f"samples/{rec['id']}.jsonl"
    assert (results / loaded.record.samples_file).read_text() == '{"doc_id": 0}\n'
    assert loaded.record.to_dict()["config"] == rec["config"]
    assert not [p for p in results.rglob(".*")], "atomic writes must not leave temp files"
    assert find_record(results, rec["id"]).path == dst


def test_invalid_file_fails_loudly_naming_file_and_field(tmp_path):
    results = tmp_path / "results"
    write(results / "good.json", make_record(benchmark="gsm8k"))
    bad = make_record(benchmark="aime25")
    bad["metrics"]["score"] = 12.5  # a percentage where a fraction belongs
    write(results / "nested" / "bad.json", bad)
    with pytest.raises(InvalidRecordError) as info:
        load_records(results)
    assert "bad.json" in str(info.value) and "metrics.score" in str(info.value)
    (results / "broken.json").write_text("{not json")
    (results / "nested" / "bad.json").unlink()
    with pytest.raises(InvalidRecordError, match="broken.json"):
        load_records(results)


def test_duplicate_ids_are_an_error(tmp_path):
    results = tmp_path / "results"
    write(results / "a.json", make_record())
    write(results / "gsm8k" / "b.json", make_record(score=0.5))
    with pytest.raises(DuplicateRecordError, match="smollm2-135m-instruct__gsm8k__pz-0shot-boxed"):
        load_records(results)


def test_submit_refuses_duplicates_unless_replace(tmp_path):
    results = tmp_path / "results"
    old = write(results / "legacy" / "old.json", make_record(score=0.1))
    new = write(tmp_path / "new.json", make_record(score=0.2, samples_file=None))
    with pytest.raises(DuplicateRecordError, match="--replace"):
        submit(new, results)
    assert load_records(results)[0].score == 0.1
    submit(new, results, replace=True)
    [rec] = load_records(results)
    assert rec.score == 0.2 and not old.exists()


def test_submit_without_its_samples_file_stores_null_and_says_so(tmp_path):
    src = write(tmp_path / "r.json", make_record())  # names samples/<id>.jsonl, which is absent
    done = submit(src, tmp_path / "results")
    assert done.samples_path is None and "not found" in done.note
    assert load_records(tmp_path / "results")[0].record.samples_file is None


def test_replace_removes_the_old_samples_file(tmp_path):
    results = tmp_path / "results"
    (tmp_path / "samples").mkdir()
    rec = make_record()
    (tmp_path / rec["samples_file"]).write_text("{}\n")
    submit(write(tmp_path / "r.json", rec), results)
    assert (results / "samples" / f"{rec['id']}.jsonl").is_file()
    submit(write(tmp_path / "r2.json", make_record(samples_file=None, score=0.5)), results, replace=True)
    assert not (results / "samples" / f"{rec['id']}.jsonl").exists()
    assert load_records(results)[0].score == 0.5


def test_submit_rejects_invalid_record_without_writing(tmp_path):
    bad = make_record()
    del bad["metrics"]["score"]
    src = write(tmp_path / "bad.json", bad)
    with pytest.raises(InvalidRecordError, match="metrics.score"):
        submit(src, tmp_path / "results")
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").rglob("*.json"))


def test_subset_and_full_runs_of_one_model_get_different_ids_and_both_stay(tmp_path):
    """A first-100, a seeded sample, a partial file and the full run never overwrite each other."""
    results = tmp_path / "results"
    full = make_record(subset=None, samples_file=None, score=0.4)
    full["protocol"]["version"] = 2
    full["dataset"]["n_evaluated"] = full["dataset"]["n_total"]
    full["id"] = row_id(full["model"]["name"], "gsm8k", "pz-0shot-boxed", 2)
    subsets = [({"limit": 100, "label": "first 100 of 1319"}, "__first100"),
               ({"limit": 100, "label": "100 of 1319, stratified", "seed": 7}, "__n100-seed7"),
               ({"limit": 100, "label": "partial/custom file (100 questions)", "partial": True}, "__partial100")]
    for i, (subset, tag) in enumerate(subsets):
        rec = {**json.loads(json.dumps(full)), "subset": subset, "id": full["id"] + tag}
        rec["dataset"]["n_evaluated"] = 100
        assert validate_record(rec) == [], (tag, validate_record(rec))
        submit(write(tmp_path / f"s{i}.json", rec), results)
    # the untagged id is now the full run's: submitting the full run replaces nothing
    assert validate_record({**full, "id": full["id"] + "__first100"})  # a full run cannot wear a subset tag
    submit(write(tmp_path / "full.json", full), results)
    ids = sorted(r.id for r in load_records(results))
    assert ids == sorted([full["id"]] + [full["id"] + t for _, t in subsets])
