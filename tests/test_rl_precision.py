"""Mixed precision, pure bf16, gradient checkpointing and mini-batches inside the trainer, on the
tiny real model. Run: pytest tests/test_rl_precision.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from pretrainzero.corpus import register_corpus
from pretrainzero.models import load_model
from pretrainzero.rl.metrics import read_metrics
from pretrainzero.rl.precision import precision
from pretrainzero.rl.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
TEXTS = tuple(f"Paragraph {i}. The river Seine flows through Paris, the capital of France. Paris has {i} bridges."
              for i in range(40))
LEARNING = ["mode=random-rlpt", "predictor_reward=user_algo_example:length_reward",
            "algorithm=user_algo_example:SignedReinforce", "filter_groups=true", "save_every=100"]


@pytest.fixture(scope="module")
def corpus():
    register_corpus("rl-precision-test", source=TEXTS, min_chars=1)
    return "rl-precision-test"


def _train(tiny_model_dir, corpus, out, *overrides):
    from pretrainzero.rl.trainer import train

    r = load_recipe(ROOT / "agents" / "tiny-test.yaml", [f"model={tiny_model_dir}", f"corpus={corpus}", *LEARNING,
                                                        *overrides])
    return train(r, out, progress=False, log=lambda s: None)


def _changed_fraction(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> float:
    changed = sum(int((after[k].float() != before[k].to(after[k].dtype).float()).sum()) for k in after)
    return changed / sum(v.numel() for v in after.values())


def test_paper_dtype_moves_every_weight_at_the_paper_lr_and_pure_bf16_does_not(tiny_model_dir, corpus, tmp_path):
    assert load_recipe(ROOT / "agents" / "paper-qwen3-4b.yaml").dtype == "bfloat16"
    before = load_file(str(tiny_model_dir / "model.safetensors"))
    frac = {}
    for dtype in ("bfloat16", "bfloat16-pure"):
        res = _train(tiny_model_dir, corpus, tmp_path / dtype, f"dtype={dtype}", "lr=5e-7", "steps=10")
        rows = read_metrics(res.metrics)
        assert res.status == "completed" and len(rows) == 10 and not any(r["skipped"] for r in rows)
        after = load_file(str(res.checkpoint / "model.safetensors"))
        frac[dtype] = _changed_fraction(before, after)
        # checkpoints keep the fp32 masters under mixed precision
        assert {w.dtype for w in after.values()} == {torch.float32 if dtype == "bfloat16" else torch.bfloat16}
        assert any("bfloat16-pure" in w for w in res.warnings) == (dtype == "bfloat16-pure")
    assert frac["bfloat16"] >= 0.99, frac
    assert frac["bfloat16-pure"] < 0.2, frac  # most updates round away in bf16


def test_mixed_precision_computes_in_bf16_on_fp32_weights(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir), dtype=precision("bfloat16").param_dtype)
    ids = torch.tensor([tok("the river Seine flows")["input_ids"]])
    with precision("bfloat16").autocast("cpu"):
        logits = model(input_ids=ids).logits
    assert logits.dtype == torch.bfloat16 and all(p.dtype == torch.float32 for p in model.parameters())
    with precision("float32").autocast("cpu"):
        assert model(input_ids=ids).logits.dtype == torch.float32
    with pytest.raises(ValueError, match="dtype must be one of"):
        precision("fp8")
    assert precision("bfloat16-pure").warning(5e-7) and precision("bfloat16-pure").warning(1e-4) is None
    assert precision("bfloat16").warning(5e-7) is None


def test_mini_batches_engage_the_clip_and_log_the_logprob_gap(tiny_model_dir, corpus, tmp_path):
    common = ["algorithm=dapo", "steps=2", "micro_batch_size=2", "paragraphs_per_step=4", "g_pred=4", "lr=1e-2"]
    one = read_metrics(_train(tiny_model_dir, corpus, tmp_path / "k1", *common).metrics)
    four = read_metrics(_train(tiny_model_dir, corpus, tmp_path / "k4", *common, "mini_batches=4",
                               "gradient_checkpointing=true").metrics)
    assert all(r["clip_frac"] == 0 and r["optimizer_steps"] == 1 for r in one)
    assert all(r["optimizer_steps"] > 1 for r in four) and max(r["clip_frac"] for r in four) > 0
    # fp32, same temperature: the trainer's log-probs are the sampler's up to float rounding
    assert all(r["logprob_gap"] is not None and r["logprob_gap"] < 1e-3 for r in one + four)


def test_gradient_checkpointing_recipe_field_checkpoints_the_trainers_update(tiny_model_dir, corpus, tmp_path,
                                                                            monkeypatch):
    """``gradient_checkpointing: true`` reaches the trainer: its training pass runs every decoder layer
    through torch's checkpoint (recomputed in backward), although the model stays in eval mode."""
    import transformers.modeling_utils as modeling_utils

    calls: list[int] = []
    real = modeling_utils.checkpoint  # what transformers binds when checkpointing is enabled

    def counting(function, *args, **kwargs):
        calls.append(1)
        return real(function, *args, **kwargs)

    monkeypatch.setattr(modeling_utils, "checkpoint", counting)
    off = _train(tiny_model_dir, corpus, tmp_path / "off", "steps=1")
    assert off.status == "completed" and not calls
    on = _train(tiny_model_dir, corpus, tmp_path / "on", "steps=1", "gradient_checkpointing=true")
    n_layers = load_model(str(tiny_model_dir))[0].config.num_hidden_layers
    assert on.status == "completed" and len(calls) >= n_layers  # every layer, in each training micro-batch
    rows = read_metrics(on.metrics)
    assert rows[0]["update"] == "applied" and rows[0]["loss"] == pytest.approx(read_metrics(off.metrics)[0]["loss"],
                                                                                 abs=1e-5)
