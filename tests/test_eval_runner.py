"""The eval runner end to end on the tiny model: records, resume from the per-sample cache, mean@k,
protocol deviations, config validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrainzero.eval import cache as gen_cache
from pretrainzero.eval.backends import BackendConfig, LocalBackend, make_backend
from pretrainzero.eval.runner import normalize_config, run_eval, run_evals
from pretrainzero.record import validate_record


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> LocalBackend:
    return make_backend(BackendConfig(name="transformers", model=str(tiny_model_dir), batch_size=4, device="cpu"))


def _cfg(model: Path, **kw: object) -> dict:
    return {"model": str(model), "model_name": "tiny", "benchmarks": ["gsm8k"], "protocol": "pz-0shot-boxed",
            "limit": 6, "max_new_tokens": 4, "batch_size": 4, **kw}


def test_record_is_valid_and_labelled(tmp_path: Path, tiny_model_dir: Path, backend: LocalBackend) -> None:
    rec = run_eval(_cfg(tiny_model_dir), tmp_path, backend=backend)
    assert validate_record(rec) == []
    assert rec["id"] == "tiny__gsm8k__pz-0shot-boxed-v2__first6"
    assert rec["subset"] == {"limit": 6, "label": "first 6 of 1319"}
    assert rec["dataset"]["n_evaluated"] == 6 and rec["dataset"]["n_total"] == 1319
    assert rec["decoding"]["max_new_tokens"] == 4 and rec["config"]["max_new_tokens"] == 4
    assert rec["config"]["protocol_deviations"] == ["max_new_tokens=4 (protocol: 8192)"]
    assert "deviates from protocol" in rec["notes"]
    assert rec["config"]["benchmarks"] == ["gsm8k"]
    # 4 new tokens never finish a boxed answer: every generation truncated, nothing extracted right
    assert rec["metrics"]["truncation_rate"] == 1.0
    on_disk = json.loads((tmp_path / f"{rec['id']}.json").read_text())
    assert on_disk == rec
    rows = [json.loads(x) for x in (tmp_path / rec["samples_file"]).read_text().splitlines()]
    assert len(rows) == 6 and all(r["truncated"] for r in rows)
    assert all(len(r["prompt_hash"]) == 64 for r in rows)


def test_resume_generates_only_missing(tmp_path: Path, tiny_model_dir: Path, backend: LocalBackend) -> None:
    cfg = _cfg(tiny_model_dir)
    first = run_eval(cfg, tmp_path, backend=backend)
    cache_file = tmp_path / "cache" / f"{first['id'].removesuffix('__first6')}.jsonl"
    lines = cache_file.read_text().splitlines()
    assert len(lines) == 6
    # Simulate a run killed mid-way: two entries kept, the third torn mid-line.
    cache_file.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])
    before = backend.generated
    second = run_eval(cfg, tmp_path, backend=backend)
    assert backend.generated - before == 4  # 6 - 2 complete entries
    for key in ("score", "miss_rate", "truncation_rate", "n_generations"):
        assert second["metrics"][key] == first["metrics"][key]
    assert len(gen_cache.load(cache_file)) == 6
    # A complete cache means no generation at all.
    calls = backend.calls
    run_eval(cfg, tmp_path, backend=backend)
    assert backend.calls == calls


def test_cache_misses_when_decoding_changes(tmp_path: Path, tiny_model_dir: Path, backend: LocalBackend) -> None:
    run_eval(_cfg(tiny_model_dir, limit=2), tmp_path, backend=backend)
    before = backend.generated
    run_eval(_cfg(tiny_model_dir, limit=2, max_new_tokens=3), tmp_path, backend=backend)
    assert backend.generated - before == 2


def test_mean_at_k(tmp_path: Path, tiny_model_dir: Path, backend: LocalBackend) -> None:
    rec = run_eval(_cfg(tiny_model_dir, benchmarks=["aime25"], limit=3, k=2), tmp_path, backend=backend)
    assert validate_record(rec) == []
    assert rec["decoding"]["k"] == 2 and rec["decoding"]["temperature"] == 1.0
    assert rec["metrics"]["n_questions"] == 3 and rec["metrics"]["n_generations"] == 6
    assert "k=2 (protocol: 32)" in rec["config"]["protocol_deviations"]
    rows = [json.loads(x) for x in (tmp_path / rec["samples_file"]).read_text().splitlines()]
    assert sorted((r["sample_id"], r["k_index"]) for r in rows) == sorted(
        (sid, j) for sid in {r["sample_id"] for r in rows} for j in range(2))
    # each question's two samples are drawn with different seeds
    by_q: dict[str, list[str]] = {}
    for r in rows:
        by_q.setdefault(r["sample_id"], []).append(r["response"])
    assert any(a != b for a, b in by_q.values())


def test_mcq_and_multiple_benchmarks(tmp_path: Path, tiny_model_dir: Path, backend: LocalBackend) -> None:
    recs = run_evals(_cfg(tiny_model_dir, benchmarks=["mmlu", "gpqa_diamond"], limit=4), tmp_path, backend=backend)
    assert [r["benchmark"] for r in recs] == ["mmlu", "gpqa_diamond"]
    for r in recs:
        assert validate_record(r) == []
        assert r["metrics"]["miss_rate"] == 1.0  # no \boxed{} letter in 4 tokens → seeded random letter
        assert sum(c["n"] for c in r["per_category"].values()) == 4
    gpqa = [json.loads(x) for x in (tmp_path / recs[1]["samples_file"]).read_text().splitlines()]
    assert all(r["response"] is None and len(r["response_sha256"]) == 64 for r in gpqa)
    mmlu = [json.loads(x) for x in (tmp_path / recs[0]["samples_file"]).read_text().splitlines()]
    assert all(isinstance(r["response"], str) for r in mmlu)


def test_reproduce_from_stored_config(tmp_path: Path, tiny_model_dir: Path, backend: LocalBackend) -> None:
    rec = run_eval(_cfg(tiny_model_dir, limit=2), tmp_path / "a", backend=backend)
    again = run_eval(rec["config"], tmp_path / "b", backend=backend)
    assert again["metrics"]["score"] == rec["metrics"]["score"]
    assert again["config"] == rec["config"]


def test_config_errors(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown eval config keys: bogus"):
        normalize_config({**_cfg(tiny_model_dir), "bogus": 1})
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        normalize_config(_cfg(tiny_model_dir, limit=0))
    with pytest.raises(ValueError, match="one benchmark"):
        run_eval(_cfg(tiny_model_dir, benchmarks=["gsm8k", "mmlu"]), "/nonexistent")
    with pytest.raises(ValueError, match="does not cover"):
        run_evals(_cfg(tiny_model_dir, protocol="mmlu-pro-official"), "/nonexistent")


def test_mmlu_pro_drops_shots_over_token_budget(tmp_path: Path, tiny_model_dir: Path, backend: LocalBackend,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The official script removes shots while the prompt is too long; the recorded prompt hashes show it."""
    from pretrainzero.eval import get_protocol, load_benchmark, runner

    fixtures = Path(__file__).parent / "fixtures" / "eval"
    bench = load_benchmark("mmlu_pro", fixtures, check_rows=False, allow_hub=False)
    proto = get_protocol("mmlu-pro-official")
    samples = list(bench.samples[:2])
    full = runner.build_prompts(proto, samples, bench, backend, 2048)
    assert full == [proto.build_prompt(s, bench) for s in samples]  # fits 4096 - 2048 tokens
    sizes = [backend.count_tokens(p) for p in full]
    zero_shot = [backend.count_tokens(proto.build_prompt(s, bench, n_shots=0)) for s in samples]
    assert all(z < f for z, f in zip(zero_shot, sizes, strict=True))
    # Shrink the model length so that only the zero-shot prompt fits the budget.
    monkeypatch.setattr(runner, "MMLU_PRO_MAX_MODEL_LEN", 2048 + max(zero_shot) + 1)
    cut = runner.build_prompts(proto, samples, bench, backend, 2048)
    assert cut == [proto.build_prompt(s, bench, n_shots=0) for s in samples]
    # The budget follows the run's effective max_new_tokens (a --max-new-tokens override included).
    roomy = runner.MMLU_PRO_MAX_MODEL_LEN - max(sizes) - 1
    assert runner.build_prompts(proto, samples, bench, backend, roomy) == full
    cfg = _cfg(tiny_model_dir, benchmarks=["mmlu_pro"], protocol="mmlu-pro-official", limit=2, max_new_tokens=2048,
               allow_partial=True)  # a 3-row fixture file, not the official 12,032 rows
    rec = runner.evaluate_benchmark(runner.normalize_config(cfg), "mmlu_pro", backend, tmp_path, loaded=bench)
    assert validate_record(rec.to_dict()) == []
    rows = [json.loads(x) for x in (tmp_path / rec.samples_file).read_text().splitlines()]
    assert [r["prompt_hash"] for r in rows] == [gen_cache.prompt_hash(p) for p in cut]


def test_subset_seed_is_stratified_seeded_and_recorded(tmp_path: Path, tiny_model_dir: Path,
                                                      backend: LocalBackend) -> None:
    from pretrainzero.eval.benchmarks import Sample
    from pretrainzero.eval.runner import select_samples

    samples = [Sample(id=f"{c}{i}", question="q", answer="A", category=c)
               for c, n in (("a", 60), ("b", 30), ("c", 10)) for i in range(n)]
    picked = select_samples(samples, 10, subset_seed=7)
    assert [s.category for s in picked].count("a") == 6 and [s.category for s in picked].count("c") == 1
    # independent of file order; a different seed draws a different sample
    assert {s.id for s in picked} == {s.id for s in select_samples(list(reversed(samples)), 10, subset_seed=7)}
    assert {s.id for s in select_samples(samples, 10, subset_seed=8)} != {s.id for s in picked}
    assert select_samples(samples, 10, None) == samples[:10]
    rec = run_eval(_cfg(tiny_model_dir, benchmarks=["mmlu"], limit=3, subset_seed=5), tmp_path, backend=backend)
    assert validate_record(rec) == []
    assert rec["config"]["subset_seed"] == 5 and rec["subset"]["seed"] == 5
    assert "stratified by category, seed 5" in rec["subset"]["label"]
    with pytest.raises(ValueError, match="subset_seed needs limit"):
        run_eval(_cfg(tiny_model_dir, limit=None, subset_seed=5), tmp_path, backend=backend)


def test_allow_partial_file_is_labelled_subset(tmp_path: Path, tiny_model_dir: Path, backend: LocalBackend) -> None:
    fixtures = Path(__file__).parent / "fixtures" / "eval"
    with pytest.raises(Exception, match="official count"):
        run_eval(_cfg(tiny_model_dir, benchmarks=["math500"], data_dir=str(fixtures)), tmp_path, backend=backend)
    rec = run_eval(_cfg(tiny_model_dir, benchmarks=["math500"], data_dir=str(fixtures), allow_partial=True),
                   tmp_path, backend=backend)
    assert validate_record(rec) == []
    assert rec["subset"]["label"].startswith("partial/custom file") and rec["config"]["allow_partial"] is True
    assert rec["id"].endswith("__pz-0shot-boxed-v2__partial2")
