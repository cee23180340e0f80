"""pandas views of leaderboard records, a record's samples and a run's metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrainzero.frames import RECORD_COLUMNS, metrics_frame, records_frame, samples_frame

ROOT = Path(__file__).resolve().parents[1]


def test_records_frame_has_one_row_per_committed_record() -> None:
    df = records_frame(ROOT / "leaderboards" / "results")
    files = sorted((ROOT / "leaderboards" / "results").glob("*.json"))
    assert list(df.columns) == list(RECORD_COLUMNS) and len(df) == len(files)
    mmlu = df[(df.benchmark == "mmlu") & (df.model == "SmolLM2-135M-Instruct")].iloc[0]
    assert mmlu.score == pytest.approx(0.23) and mmlu.miss_rate == 1.0 and bool(mmlu.mostly_fallback)
    assert set(df.protocol_version) <= {1, 2} and df.local_only.sum() == 2


def test_samples_frame_matches_the_samples_file() -> None:
    path = next((ROOT / "leaderboards" / "results").glob("smollm2-135m-instruct__gsm8k__*.json"))
    df = samples_frame(path)
    record = json.loads(path.read_text())
    assert len(df) == record["metrics"]["n_generations"]
    assert df.score.mean() == pytest.approx(record["metrics"]["score"])
    assert {"sample_id", "response", "extracted", "answer", "missed", "truncated"} <= set(df.columns)


def test_metrics_frame_flattens_steps(tmp_path: Path) -> None:
    rows = [{"step": 1, "loss": 0.5, "reward": {"mean": 0.1}}, {"step": 2, "loss": 0.4, "reward": {"mean": 0.2}}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    df = metrics_frame(tmp_path)
    assert list(df.step) == [1, 2] and list(df["reward.mean"]) == [0.1, 0.2]
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\nnot json\n')
    with pytest.raises(ValueError, match="line 2"):
        metrics_frame(tmp_path)
    with pytest.raises(FileNotFoundError):
        metrics_frame(tmp_path / "nope")
