"""Atomic checkpoints: complete-or-absent, pruning, RNG and optimizer round trips.
Run: pytest tests/test_rl_checkpoint.py
"""

from __future__ import annotations

import json
import random

import numpy as np
import torch

from pretrainzero.rl.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_training_state,
    save_checkpoint,
)


def _parts(tiny_model_dir):
    from pretrainzero.models import load_model

    model, tok = load_model(str(tiny_model_dir))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 ** s)
    model(torch.tensor([[1, 2, 3]])).logits.sum().backward()
    opt.step()
    sched.step()
    return model, tok, opt, sched


def test_save_load_roundtrip_prune_and_ignore_half_written(tiny_model_dir, tmp_path):
    model, tok, opt, sched = _parts(tiny_model_dir)
    root = tmp_path / "ckpt"
    kw = {"model": model, "tokenizer": tok, "optimizer": opt, "scheduler": sched, "metrics_offset": 123, "keep": 2}
    save_checkpoint(root, 1, data={"epoch": 0, "position": 5}, **kw)
    # a save killed half-way leaves only a hidden temporary directory: never taken for a checkpoint
    (root / ".tmp-step-000002-999").mkdir()
    (root / ".tmp-step-000002-999" / "state.json").write_text("{truncated")
    assert latest_checkpoint(root) == root / "step-000001"
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    path = save_checkpoint(root, 2, data={"epoch": 0, "position": 9}, extra={"k": 1}, **kw)
    draws = (random.random(), np.random.rand(), torch.rand(1))
    assert not list(root.glob(".tmp-*"))  # cleaned by the next save
    save_checkpoint(root, 3, data={}, **kw)
    assert [p.name for p in list_checkpoints(root)] == ["step-000002", "step-000003"]  # keep=2

    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    state = load_training_state(path)  # restores the global RNGs as they were at save time
    assert (random.random(), np.random.rand(), torch.rand(1)) == draws
    assert state.step == 2 and state.data == {"epoch": 0, "position": 9} and state.metrics_offset == 123
    assert state.extra == {"k": 1}
    opt2 = torch.optim.AdamW(model.parameters(), lr=1e-3)
    opt2.load_state_dict(state.optimizer)
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert state.scheduler["last_epoch"] == 1

    from pretrainzero.models import load_model

    reloaded, _ = load_model(str(path))  # the checkpoint is a plain HF model directory
    for (n, a), (_, b) in zip(model.state_dict().items(), reloaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), n


def test_resaving_a_step_replaces_it(tiny_model_dir, tmp_path):
    model, tok, opt, sched = _parts(tiny_model_dir)
    kw = {"model": model, "tokenizer": tok, "optimizer": opt, "scheduler": sched, "metrics_offset": 0}
    save_checkpoint(tmp_path, 4, data={"v": 1}, **kw)
    save_checkpoint(tmp_path, 4, data={"v": 2}, **kw)
    assert list_checkpoints(tmp_path) == [tmp_path / "step-000004"]
    assert load_training_state(tmp_path / "step-000004").data == {"v": 2}


def test_pruning_keeps_the_checkpoint_just_written(tiny_model_dir, tmp_path):
    model, tok, opt, sched = _parts(tiny_model_dir)
    kw = {"model": model, "tokenizer": tok, "optimizer": opt, "scheduler": sched, "metrics_offset": 0, "keep": 2}
    for step in (10, 11, 1, 2):  # 10 and 11: higher step numbers (another run's)
        save_checkpoint(tmp_path, step, data={}, **{**kw, "keep": 5})
    path = save_checkpoint(tmp_path, 3, data={}, **kw)
    assert path.is_dir()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-000002", "step-000003", "step-000010", "step-000011"]


def test_manifest_detects_damage(tiny_model_dir, tmp_path):
    from pretrainzero.rl.checkpoint import newest_intact_checkpoint, verify_checkpoint

    model, tok, opt, sched = _parts(tiny_model_dir)
    kw = {"model": model, "tokenizer": tok, "optimizer": opt, "scheduler": sched, "metrics_offset": 0, "keep": 3}
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, data={}, **kw)
    assert verify_checkpoint(tmp_path / "step-000003") is None
    listed = json.loads((tmp_path / "step-000003" / "manifest.json").read_text())["files"]
    assert {"model.safetensors", "optimizer.pt", "state.json", "rng.pt"} <= set(listed)
    opt_file = tmp_path / "step-000003" / "optimizer.pt"
    data = bytearray(opt_file.read_bytes())
    data[-1] ^= 0xFF  # same size, one bit pattern changed
    opt_file.write_bytes(bytes(data))
    assert verify_checkpoint(tmp_path / "step-000003") == "optimizer.pt does not match its checksum"
    (tmp_path / "step-000002" / "rng.pt").unlink()
    assert verify_checkpoint(tmp_path / "step-000002") == "rng.pt is missing"
    best, bad = newest_intact_checkpoint(tmp_path)
    assert best == tmp_path / "step-000001" and [p.name for p, _ in bad] == ["step-000003", "step-000002"]
