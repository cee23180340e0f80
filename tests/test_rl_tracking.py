"""Experiment tracking: report_to forwards the metrics.jsonl rows; a missing package is one line."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest

from pretrainzero.cli import main
from pretrainzero.corpus import register_corpus
from pretrainzero.rl.metrics import read_metrics
from pretrainzero.rl.recipe import load_recipe, recipe_from_dict
from pretrainzero.rl.tracking import check_report_to

ROOT = Path(__file__).resolve().parents[1]
TEXTS = tuple(f"Paragraph {i}. The river Seine flows through Paris, the capital of France, past {i} bridges."
              for i in range(20))


def read_scalars(folder: Path) -> dict[str, dict[int, float]]:
    """Scalars of TensorBoard event files (TFRecord framing: length, crc, data, crc)."""
    from tensorboardX.proto import event_pb2

    out: dict[str, dict[int, float]] = {}
    for path in folder.glob("events.out.tfevents.*"):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (n,) = struct.unpack("<Q", data[pos : pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12 : pos + 12 + n])
            pos += 12 + n + 4
            for v in event.summary.value:
                out.setdefault(v.tag, {})[event.step] = v.simple_value
    return out


@pytest.mark.skipif(
    not any(importlib.util.find_spec(p) for p in ("tensorboard", "tensorboardX")), reason="needs tensorboardX"
)
def test_tensorboard_gets_the_same_per_step_metrics(tiny_model_dir, tmp_path):
    from pretrainzero.rl.trainer import train

    register_corpus("tracking-test", source=TEXTS, min_chars=1)
    recipe = load_recipe(
        ROOT / "agents" / "tiny-test.yaml",
        [f"model={tiny_model_dir}", "corpus=tracking-test", "steps=2", "report_to=[tensorboard]"],
    )
    res = train(recipe, tmp_path / "run", progress=False, log=lambda s: None)
    rows = read_metrics(res.metrics)
    scalars = read_scalars(tmp_path / "run" / "tensorboard")
    assert [r["step"] for r in rows] == [0, 1]
    numeric = [
        k for k in rows[0]
        if k != "step" and all(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) for r in rows)
    ]
    assert {"lr", "mask_valid_rate", "time_step"} <= set(numeric)
    for key in numeric:  # every numeric metric, at every step (no-data metrics are null in both)
        assert scalars[key] == pytest.approx({r["step"]: r[key] for r in rows}, rel=1e-6), key
    assert not {k for k, v in rows[0].items() if v is None} & set(scalars)


def test_missing_tracker_package_is_one_line_before_anything_runs(tmp_path, capsys, monkeypatch):
    import pretrainzero.rl.tracking as tracking

    monkeypatch.setitem(tracking.TRACKERS, "wandb", ("pretrainzero_no_such_package",))
    with pytest.raises(ValueError, match=r"report_to: wandb needs the wandb package: pip install wandb"):
        check_report_to(["wandb"])
    out = tmp_path / "run"
    code = main(["train", "--recipe", "tiny-test", "--out", str(out), "--set", "report_to=[wandb]", "--set", "steps=1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "pip install wandb" in err
    assert not out.exists()  # refused before the run folder or the model was touched


def test_unknown_tracker_fails_in_the_recipe():
    with pytest.raises(ValueError,
                       match="report_to: unknown tracker 'tensorbord'; choose from tensorboard, wandb, trackio"):
        recipe_from_dict({"report_to": ["tensorbord"]})
