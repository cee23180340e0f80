"""Recipe validation: every mistake fails before a model loads, naming the field. Run: pytest tests/test_rl_recipe.py"""

from __future__ import annotations

from pathlib import Path

import pytest

from pretrainzero.rl.recipe import Recipe, load_recipe, recipe_from_dict

AGENTS = Path(__file__).resolve().parents[1] / "agents"


def test_defaults_are_the_paper_settings():
    r = Recipe()
    assert (r.paragraphs_per_step, r.g_gen, r.g_pred) == (32, 8, 8)
    assert (r.max_prompt_tokens, r.max_response_tokens, r.lr, r.schedule, r.steps) == (1536, 4096, 5e-7, "cosine", 2000)
    assert r.algorithm == "dapo" and r.filter_groups and r.generator_reward == "paper" and r.mask_rule == "default"


@pytest.mark.parametrize("path", sorted(AGENTS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_recipes_load(path):
    assert isinstance(load_recipe(path), Recipe)


def test_paper_recipe_file_matches_the_paper():
    r = load_recipe(AGENTS / "paper-qwen3-4b.yaml")
    assert r.lr == 5e-7 and r.algorithm_kwargs == {"eps_low": 0.2, "eps_high": 0.28} and r.steps == 2000


@pytest.mark.parametrize("name", sorted(p.stem for p in AGENTS.glob("paper-*.yaml")))
def test_paper_recipes_stop_at_the_chat_templates_end_of_turn(name, tiny):
    from pretrainzero.engines import end_of_turn_id

    r = load_recipe(AGENTS / f"{name}.yaml")
    assert r.prompt_form == "chat" and r.dtype == "bfloat16"
    # Qwen3-Base and SmolLM3-Base use ChatML like the tiny test tokenizer: a turn ends with <|im_end|>
    _, tok = tiny
    assert tok.decode([end_of_turn_id(tok)]) == "<|im_end|>" and "<|im_end|>" in r.stop


@pytest.mark.parametrize(
    "data, match",
    [
        ({"stpes": 3}, r"unknown recipe field 'stpes'; did you mean 'steps'"),
        ({"sft": {"lrr": 1e-5}}, r"unknown recipe field 'sft.lrr'; did you mean 'lr'"),
        ({"lr": "fast"}, r"'lr' must be float"),
        ({"g_gen": 1.5}, r"'g_gen' must be int"),
        ({"g_gen": 0}, r"g_gen must be >= 1"),
        ({"mode": "rlhf"}, r"'mode' must be one of 'pretrainzero'"),
        ({"generator_reward": "sigmoid"}, r"generator_reward must be one of"),
        ({"random_masker": "entropy"}, r"random_masker: unknown masker .entropy.; choose one of random-span"),
        ({"algorithm": "ppoo"}, r"unknown algorithm 'ppoo'"),
        ({"algorithm_kwargs": {"eps_hi": 0.3}}, r"bad arguments for algorithm 'dapo'"),
        ({"predictor_reward": "bleu"}, r"predictor_reward must be one of"),
        ({"sft": {"steps": 0}}, r"section sft: steps must be >= 1"),
        ({"stop": "}"}, r"'stop' must be"),
        # non-finite and absurd numbers are refused with the field and its range
        ({"lr": float("inf")}, r"lr must be a finite number, got inf"),
        ({"lr": 1e6}, r"lr must be in \(0, 1\) \(AdamW learning rates are ~1e-7 to 1e-3\), got 1000000.0"),
        ({"lr": 0.0}, r"lr must be in \(0, 1\)"),
        ({"temperature": float("nan")}, r"temperature must be a finite number, got nan"),
        ({"temperature": 50.0}, r"temperature must be in \[0, 10\]"),
        ({"max_minutes": float("nan")}, r"max_minutes must be a finite number"),
        ({"max_minutes": 0}, r"max_minutes must be in \(0, inf\)"),
        ({"grad_clip": float("nan")}, r"grad_clip must be a finite number"),
        ({"grad_clip": -1.0}, r"grad_clip must be in \[0, inf\) \(0 turns clipping off\)"),
        ({"seed": -1}, r"seed must be in \[0, 4294967295\], got -1"),
        ({"weight_decay": 5.0}, r"weight_decay must be in \[0, 1\]"),
        ({"top_p": float("nan")}, r"top_p must be a finite number"),
        ({"min_lr_ratio": float("-inf")}, r"min_lr_ratio must be a finite number"),
        ({"algorithm_kwargs": {"eps_high": float("nan")}}, r"algorithm_kwargs.eps_high must be a number, got nan"),
        ({"sft": {"lr": float("inf")}}, r"section sft: lr must be a finite number"),
        ({"sft": {"max_grad_norm": float("nan")}}, r"section sft: max_grad_norm must be a finite number"),
    ],
)
def test_invalid_fields_are_named(data, match):
    with pytest.raises(ValueError, match=match):
        recipe_from_dict(data)


def test_yaml_spellings_of_non_finite_numbers_are_refused(tmp_path):
    f = tmp_path / "r.yaml"
    for text, field in (("lr: .inf", "lr"), ("temperature: .nan", "temperature"), ("max_minutes: .NaN", "max_minutes")):
        f.write_text(text + "\n")
        with pytest.raises(ValueError, match=f"{field} must be a finite number"):
            load_recipe(f)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        load_recipe(f, ["lr=.inf"])


def test_validation_happens_before_any_model_load(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("model: /does/not/exist\nlearning_rate: 1e-5\n")
    with pytest.raises(ValueError, match="learning_rate"):  # not FileNotFoundError from the model loader
        load_recipe(f)


def test_overrides_and_yaml_number_forms(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("lr: 5e-7\nstop: ['}']\nsft:\n  steps: 3\n")
    r = load_recipe(f, ["steps=7", "sft.lr=1e-4", "algorithm_kwargs.eps_high=0.3", "prefill=\\boxed{"])
    assert r.lr == 5e-7 and r.stop == ("}",) and r.steps == 7
    assert r.sft.steps == 3 and r.sft.lr == 1e-4 and r.algorithm_kwargs == {"eps_high": 0.3}
    assert r.prefill == "\\boxed{"
    with pytest.raises(ValueError, match="key=value"):
        load_recipe(f, ["steps"])
    with pytest.raises(FileNotFoundError):
        load_recipe(tmp_path / "missing.yaml")


def test_recipe_is_frozen():
    with pytest.raises(AttributeError):
        Recipe().lr = 1.0  # type: ignore[misc]
