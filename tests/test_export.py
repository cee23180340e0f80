"""`pretrainzero export`: a run folder becomes a plain HF model folder; other targets are env ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pretrainzero.cli import main
from pretrainzero.rl.checkpoint import save_checkpoint


@pytest.fixture
def run_dir(tiny_model_dir, tmp_path):
    """A run folder with checkpoints of steps 1 and 2 (step 2's weights moved by one AdamW step)."""
    from pretrainzero.models import load_model

    model, tok = load_model(str(tiny_model_dir))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "recipe.json").write_text(json.dumps({"name": "tiny-test", "model": "tiny", "corpus": "wiki-vital-en"}))
    kw = {"model": model, "tokenizer": tok, "optimizer": opt, "scheduler": sched, "metrics_offset": 0, "keep": 5}
    save_checkpoint(run / "checkpoints", 1, data={}, **kw)
    model(torch.tensor([[1, 2, 3]])).logits.sum().backward()
    opt.step()
    save_checkpoint(run / "checkpoints", 2, data={}, **kw)
    return run, {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_export_run_folder_is_a_plain_loadable_hf_model(run_dir, tmp_path, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run, weights = run_dir
    out = tmp_path / "exported"
    assert main(["export", str(run), "--out", str(out)]) == 0
    assert "step 2" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= names
    assert not names & {"optimizer.pt", "scheduler.pt", "rng.pt", "state.json", "manifest.json"}
    assert not [n for n in names if n.endswith((".pt", ".bin", ".pth"))]  # no pickles at all
    model = AutoModelForCausalLM.from_pretrained(out)
    AutoTokenizer.from_pretrained(out)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in weights.items() if k in loaded)
    assert "tiny-test (step 2)" in (out / "README.md").read_text()
    # a non-empty --out is refused, --overwrite replaces it; --step picks an older checkpoint
    assert main(["export", str(run), "--out", str(out), "--step", "1"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["export", str(run), "--out", str(out), "--step", "1", "--overwrite"]) == 0
    older = AutoModelForCausalLM.from_pretrained(out).state_dict()
    assert not all(torch.equal(older[k], v) for k, v in weights.items() if k in older)


def test_export_skips_a_damaged_newest_checkpoint(run_dir, tmp_path, capsys):
    run, _ = run_dir
    weights = run / "checkpoints" / "step-000002" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert main(["export", str(run), "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "skipped damaged checkpoint step-000002" in out and "(step 1)" in out
    assert main(["export", str(run / "checkpoints" / "step-000002"), "--out", str(tmp_path / "m2")]) == 2
    assert "damaged" in capsys.readouterr().err


def test_export_of_something_else_fails_with_one_line(tmp_path, capsys):
    (tmp_path / "notarun").mkdir()
    assert main(["export", str(tmp_path / "notarun"), "--out", str(tmp_path / "o")]) == 2
    assert "neither a run folder" in capsys.readouterr().err
    assert main(["export", "no-such-thing", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "neither an existing run/checkpoint folder nor a registered env id" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc (a folder nobody can create in)")
def test_export_to_an_unwritable_place_names_out_not_a_temp_folder(run_dir, capsys):
    out = Path("/proc/pretrainzero-export-test")  # /proc exists, but no folder can be created in it
    assert main(["export", str(run_dir[0]), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"--out {out}:" in err and ".tmp-" not in err, err
