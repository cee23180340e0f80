r"""The trained checkpoint stays a working chat model (issue 9): the CPU demo's SFT cold start
(``\boxed{``-prefilled 8-token targets, stop at ``}``) plus RL must not teach the model to end its
turn at once. Before the fix the SFT targets ended with EOS right after ``\boxed{span}``, the tiny
chat model's probability of an empty answer rose from ~0.001 to ~0.2, and the SmolLM2 demo
checkpoint answered 99/100 GSM8K prompts with an empty string. Run: pytest tests/test_rl_chat_preserved.py
"""

from __future__ import annotations

from pathlib import Path

import torch

from pretrainzero.corpus import register_corpus
from pretrainzero.engines import SamplingParams
from pretrainzero.engines.hf import TransformersEngine
from pretrainzero.models import build_tiny_model, load_model
from pretrainzero.rl.recipe import load_recipe
from pretrainzero.rl.sft import SFTExample, sft_step

ROOT = Path(__file__).resolve().parents[1]
TEXTS = tuple(f"Item {i}: the river Seine flows through Paris and the river Loire flows to Nantes. The river Seine "
              "is long." for i in range(200))
QUESTIONS = ("Tell me about river Seine", "Tell me about the city", "Tell me about river Nile")


def _chat_ids(tok, question: str) -> list[int]:
    text = tok.apply_chat_template([{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True)
    return tok(text, add_special_tokens=False)["input_ids"]


def _p_empty(model, tok) -> float:
    """Mean probability that the answer to a plain chat prompt is empty (EOS as its first token)."""
    with torch.no_grad():
        return sum(torch.softmax(model(input_ids=torch.tensor([_chat_ids(tok, q)])).logits[0, -1].float(), -1)
                   [tok.eos_token_id].item() for q in QUESTIONS) / len(QUESTIONS)


def _chat_model(out: Path) -> Path:
    """The tiny model taught to answer plain chat prompts with a few words, then EOS."""
    torch.manual_seed(0)
    model, tok = load_model(str(build_tiny_model(out)))
    qs = [f"Tell me about river {w}" for w in ("Seine", "Loire", "Rhine", "Thames", "Danube", "Nile")]
    ex = [SFTExample(tuple(_chat_ids(tok, q)), tuple(tok(f"The river {q.split()[-1]} is long.",
                                                        add_special_tokens=False)["input_ids"] + [tok.eos_token_id]))
          for q in qs]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(60):
        sft_step(model, opt, ex, pad_token_id=tok.pad_token_id)
    model.save_pretrained(out, safe_serialization=True)
    return out


def test_demo_recipe_keeps_a_chat_model_answering(tmp_path):
    from pretrainzero.rl.trainer import train

    chat = _chat_model(tmp_path / "chat")
    model, tok = load_model(str(chat))
    assert _p_empty(model, tok) < 0.01
    register_corpus("rl-chat-preserved", source=TEXTS, min_chars=1)
    # the demo recipe as shipped, on the tiny chat model: SFT and RL lr scaled up for a tiny model
    r = load_recipe(ROOT / "agents" / "smollm2-135m-cpu.yaml", [
        f"model={chat}", "corpus=rl-chat-preserved", "steps=2", "paragraphs_per_step=2", "g_gen=2", "g_pred=4",
        "lr=1e-3", "sft.lr=2e-3", "max_minutes=null", "heldout_n=0", "eval_at_start=false", "eval_at_end=false",
        "predictor_reward=user_algo_example:length_reward"])
    res = train(r, tmp_path / "run", progress=False, log=lambda s: None)
    assert res.status == "completed"
    for ckpt in ("step-000000", "step-000002"):  # after the SFT cold start, and after RL
        trained, tok = load_model(str(tmp_path / "run" / "checkpoints" / ckpt))
        assert _p_empty(trained, tok) < 0.05, ckpt
        prompts = [tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
                   for q in QUESTIONS]
        answers = TransformersEngine(trained, tok).generate(prompts, 1, SamplingParams(temperature=0, max_new_tokens=8))
        assert all(a[0].text.strip() for a in answers), (ckpt, answers)
