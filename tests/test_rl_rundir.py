"""Run-folder safety: a non-empty --out needs --resume or --overwrite, a resume never mixes two
runs, metrics are never padded, a damaged newest checkpoint falls back to the newest intact one.
Run: pytest tests/test_rl_rundir.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from pretrainzero.corpus import register_corpus
from pretrainzero.errors import UserError
from pretrainzero.rl.checkpoint import list_checkpoints
from pretrainzero.rl.metrics import read_metrics
from pretrainzero.rl.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
TEXTS = tuple(
    f"Paragraph {i}. The river Seine flows through Paris, the capital of France, with {i} bridges."
    for i in range(40)
)
LEARNING = [
    "mode=random-rlpt",
    "predictor_reward=user_algo_example:length_reward",
    "algorithm=user_algo_example:SignedReinforce",
]


@pytest.fixture(scope="module")
def corpus():
    register_corpus("rl-rundir-test", source=TEXTS, min_chars=1)
    return "rl-rundir-test"


def recipe(tiny_model_dir, corpus, *overrides):
    return load_recipe(
        ROOT / "agents" / "tiny-test.yaml",
        [f"model={tiny_model_dir}", f"corpus={corpus}", *LEARNING, *overrides],
    )


def _train(r, out, **kw):
    from pretrainzero.rl.trainer import train

    lines: list[str] = []
    return train(r, out, progress=False, log=lines.append, **kw), lines


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_non_empty_out_is_refused_unless_overwrite(tiny_model_dir, corpus, tmp_path):
    r = recipe(tiny_model_dir, corpus, "steps=2", "save_every=1")
    first, lines = _train(r, tmp_path)
    per_step = [line for line in lines if line.startswith("train: ")]  # progress=False: a line per step
    assert [line.split(" (")[0] for line in per_step] == ["train: 1/2 step", "train: 2/2 step"]
    assert all(", acc=" in line and " valid=" in line for line in per_step)
    before = _snapshot(tmp_path)
    with pytest.raises(
        UserError,
        match=r"is not empty \(a run of recipe 'tiny-test', 2 logged steps, checkpoints "
        r"up to step-000002\).*--resume.*--overwrite",
    ):
        _train(recipe(tiny_model_dir, corpus, "steps=1"), tmp_path)
    assert _snapshot(tmp_path) == before  # nothing touched
    old_id = json.loads((tmp_path / "run.json").read_text())["run_id"]

    res, lines = _train(recipe(tiny_model_dir, corpus, "steps=1"), tmp_path, overwrite=True)
    assert any("--overwrite: deleted the previous contents" in line for line in lines)
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == ["step-000001"]
    assert res.checkpoint == tmp_path / "checkpoints" / "step-000001" and res.checkpoint.is_dir()
    assert [row["step"] for row in read_metrics(res.metrics)] == [0]
    assert json.loads((tmp_path / "run.json").read_text())["run_id"] != old_id
    assert json.loads((res.checkpoint / "state.json").read_text())["extra"]["run_id"] != old_id


def test_out_that_is_a_file_or_not_a_run_folder(tiny_model_dir, corpus, tmp_path):
    r = recipe(tiny_model_dir, corpus, "steps=1")
    f = tmp_path / "file.txt"
    f.write_text("mine")
    with pytest.raises(UserError, match="is a file, not a folder"):
        _train(r, f)
    with pytest.raises(UserError, match="does not look like a run folder.*not deleted"):
        _train(r, tmp_path, overwrite=True)
    with pytest.raises(UserError, match="holds no run"):
        _train(r, tmp_path, resume=True)
    with pytest.raises(UserError, match="give only one"):
        _train(r, tmp_path / "new", resume=True, overwrite=True)
    assert f.read_text() == "mine"


def test_resume_refuses_logged_steps_without_a_checkpoint(tiny_model_dir, corpus, tmp_path):
    (tmp_path / "recipe.json").write_text(json.dumps({"name": "x"}))
    (tmp_path / "metrics.jsonl").write_text('{"step": 0}\n{"step": 1}\n')
    with pytest.raises(UserError, match="2 logged steps but no intact checkpoint.*--overwrite"):
        _train(recipe(tiny_model_dir, corpus, "steps=1"), tmp_path, resume=True)
    assert (tmp_path / "metrics.jsonl").read_text() == '{"step": 0}\n{"step": 1}\n'
    (tmp_path / "metrics.jsonl").write_text('{"phase": "sft", "sft_loss": 2.0}\n')  # killed during the cold start
    with pytest.raises(UserError, match="has an unfinished SFT phase but no intact checkpoint"):
        _train(recipe(tiny_model_dir, corpus, "steps=1"), tmp_path, resume=True)


def test_resume_never_mixes_two_runs(tiny_model_dir, corpus, tmp_path):
    r = recipe(tiny_model_dir, corpus, "steps=2", "save_every=1")
    _train(r, tmp_path)
    with pytest.raises(UserError, match="sets seed=7 but the run .* was trained with seed=0"):
        _train(recipe(tiny_model_dir, corpus, "steps=3", "seed=7"), tmp_path, resume=True)
    # a metrics log cut short (or replaced by another run's) is refused, never padded with NUL bytes
    metrics = tmp_path / "metrics.jsonl"
    full = metrics.read_bytes()
    metrics.write_bytes(full[: len(full) // 2])
    with pytest.raises(UserError, match="metrics.jsonl holds .* bytes but checkpoint step-000002 recorded"):
        _train(recipe(tiny_model_dir, corpus, "steps=3"), tmp_path, resume=True)
    assert b"\0" not in metrics.read_bytes()
    # another run's checkpoint in this folder
    metrics.write_bytes(full)
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "someone-else"}))
    with pytest.raises(UserError, match="belongs to another run"):
        _train(recipe(tiny_model_dir, corpus, "steps=3"), tmp_path, resume=True)


def test_damaged_newest_checkpoint_falls_back_to_the_newest_intact_one(tiny_model_dir, corpus, tmp_path):
    steps = ["save_every=1", "keep_checkpoints=3", "schedule=constant"]  # lr independent of `steps`
    ref, _ = _train(recipe(tiny_model_dir, corpus, "steps=4", *steps), tmp_path / "ref")
    run = tmp_path / "run"
    _train(recipe(tiny_model_dir, corpus, "steps=3", *steps), run)
    weights = run / "checkpoints" / "step-000003" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])  # a truncated copy
    res, lines = _train(recipe(tiny_model_dir, corpus, "steps=4", *steps), run, resume=True)
    assert any("checkpoint step-000003 is damaged (model.safetensors has" in line for line in lines)
    assert any("resuming from step-000002, the newest intact checkpoint (step 2)" in line for line in lines)
    assert not any(
        "differs" in line for line in lines
    )  # same recipe but steps: no false "recipe differs" note
    assert (run / "checkpoints" / "step-000003.corrupt").is_dir()
    assert res.status == "completed"
    assert [row["step"] for row in read_metrics(res.metrics)] == [0, 1, 2, 3]
    assert b"\0" not in res.metrics.read_bytes()
    a, b = (
        load_file(str(ref.checkpoint / "model.safetensors")),
        load_file(str(res.checkpoint / "model.safetensors")),
    )
    assert all(a[k].equal(b[k]) for k in a)  # the same weights as the uninterrupted run


CONSTANT_REWARD = """
def factory(model, tokenizer):
    return lambda prompts, completions, answers: [0.5] * len(completions)
"""


def test_report_says_what_happened_to_updates_without_signal(tiny_model_dir, corpus, tmp_path):
    (tmp_path / "const_reward.py").write_text(CONSTANT_REWARD)  # imported by file path, no PYTHONPATH
    same = [
        "mode=random-rlpt",
        f"predictor_reward={tmp_path / 'const_reward.py'}:factory",
        "algorithm=dapo",
        "steps=2",
    ]
    zero, _ = _train(recipe(tiny_model_dir, corpus, *same, "filter_groups=false"), tmp_path / "zero")
    rows = read_metrics(zero.metrics)
    assert [(r["update"], r["skipped"], r["loss"], r["grad_norm"]) for r in rows] == [
        ("zero-gradient", False, 0, 0)
    ] * 2
    report = zero.report.read_text()
    assert "Updates: 0 of 2 steps applied a non-zero gradient." in report
    assert "- 2 had a loss and gradient of exactly 0: every advantage was 0" in report

    empty, _ = _train(recipe(tiny_model_dir, corpus, *same, "filter_groups=true"), tmp_path / "empty")
    rows = read_metrics(empty.metrics)
    assert [(r["update"], r["samples"]) for r in rows] == [("no-samples", 0)] * 2
    assert all("loss" not in r and "grad_norm" not in r and "entropy" not in r for r in rows)  # absent, not 0
    assert all(r["generator_response_len"] is None for r in rows)  # random-rlpt: no generator, null not 0
    assert "- 2 had no samples to train on" in empty.report.read_text()
    # strict JSON: no NaN/Infinity tokens anywhere in the log
    import json as _json

    for line in empty.metrics.read_text().splitlines():
        _json.loads(line, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
