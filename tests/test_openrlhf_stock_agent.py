"""The stock single-role plug-in through OpenRLHF's REAL MultiTurnAgentExecutor, and `pretrainzero export`.

Only the vLLM engine is faked: an object with OpenRLHF's ``generate(token_ids, sampling_params,
multi_modal_data=)`` coroutine that answers from a script. Everything else is the real wheel code.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
from copy import deepcopy
from types import SimpleNamespace

import gymnasium
import pytest

import pretrainzero
from pretrainzero.cli import main
from pretrainzero.corpus import unregister_corpus
from pretrainzero.envs.registration import env_id
from pretrainzero.openrlhf import export_prompts
from pretrainzero.openrlhf.export import parse_label
from pretrainzero.openrlhf.launch import plugin_path

agent_mod = pytest.importorskip("openrlhf.utils.agent", reason="needs `pip install --no-deps openrlhf==0.11.2`")

TEXTS = (  # written for these tests
    ("The lighthouse keeper climbed the spiral stairs every evening at dusk to light the great lamp "
     "that guided fishing boats past the rocky northern cape."),
    ("Marta planted tomatoes, beans and sunflowers in the community garden, and by August the "
     "sunflowers had grown taller than the wooden fence around the plot."),
    ("The river ferry carried bicycles, goats and crates of oranges across the muddy water twice "
     "a day, except on Sundays when the pilot went fishing."),
)


@pytest.fixture(scope="module")
def envs():
    spec = pretrainzero.register_corpus("pz-orltest", source=TEXTS, min_chars=1)
    yield {t: env_id("pz-orltest", t, spec.version) for t in ("MaskedSpan", "ActiveMasking")}
    unregister_corpus("pz-orltest")


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model_dir))


def load_executor():
    """Exactly what OpenRLHF's ``_load_agent_executor`` does with ``--train.agent_func_path``."""
    spec = importlib.util.spec_from_file_location("agent_module", str(plugin_path("stock")))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert issubclass(module.AgentExecutor, agent_mod.AgentExecutorBase)
    assert issubclass(module.AgentExecutor, agent_mod.MultiTurnAgentExecutor)
    return module.AgentExecutor()


class FakeEngine:
    """Stands in for OpenRLHF's RolloutRayActor: replies[i] answers the i-th request."""

    def __init__(self, tokenizer, replies):
        self.tokenizer, self.replies, self.requests = tokenizer, list(replies), []

    async def generate(self, token_ids, sampling_params, multi_modal_data=None):
        self.requests.append(list(token_ids))
        text = self.replies[len(self.requests) - 1]
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
        out = SimpleNamespace(token_ids=ids, text=text, finish_reason="stop",
                              logprobs=[{t: SimpleNamespace(logprob=-0.5)} for t in ids])
        await asyncio.sleep(0)  # let the group's other samples interleave, as in a real engine
        return SimpleNamespace(outputs=[out])


def chat(tokenizer, text):
    return tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                         add_generation_prompt=True)


def run_group(executor, prompt, label, engine, tokenizer, n):
    """``RolloutRayActor.generate_responses``: n concurrent executions of one prompt."""
    params = SimpleNamespace(max_tokens=None, logprobs=1)

    async def go():
        return await asyncio.gather(*[
            executor.execute(prompt=prompt, label=label, sampling_params=deepcopy(params), max_length=4096,
                             hf_tokenizer=tokenizer, llm_engine=engine, images=None)
            for _ in range(n)])

    return asyncio.run(go())


def test_export_writes_openrlhfs_prompt_file(envs, tmp_path):
    path = export_prompts(envs["MaskedSpan"], 5, tmp_path / "p.jsonl", seed=3)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 5 and all(set(r) == {"prompt", "label"} for r in rows)
    again = [json.loads(line) for line in export_prompts(envs["MaskedSpan"], 5, tmp_path / "q.jsonl", seed=3)
             .read_text().splitlines()]
    assert rows == again  # a seed fixes the file
    env = gymnasium.make(envs["MaskedSpan"])
    for r in rows:
        label = parse_label(r["label"])
        assert label["env"] == envs["MaskedSpan"]
        obs, _ = env.reset(options={"paragraph_id": label["paragraph_id"], "seed": label["seed"]})
        assert obs == r["prompt"]  # the label rebuilds the episode the prompt came from


def test_export_verb_and_bad_input(envs, tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    assert main(["export", envs["MaskedSpan"].removeprefix("pretrainzero/"), "--n", "3", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 3
    assert main(["export", "pz-orltest-MaskedSpn-v1", "--n", "3", "--out", str(tmp_path / "x.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "unknown env id" in err and "did you mean" in err and not (tmp_path / "x.jsonl").exists()
    assert main(["export", envs["MaskedSpan"], "--n", "0", "--out", str(tmp_path / "y.jsonl")]) == 2
    assert "--n must be >= 1" in capsys.readouterr().err


def test_a_group_shares_its_episode_and_rewards_are_tensors(envs, tokenizer, tmp_path):
    row = json.loads(export_prompts(envs["MaskedSpan"], 1, tmp_path / "p.jsonl", seed=1).read_text())
    label = parse_label(row["label"])
    _, info = gymnasium.make(envs["MaskedSpan"]).reset(options={"paragraph_id": label["paragraph_id"],
                                                                 "seed": label["seed"]})
    answer = info["answer"]
    replies = [f"\\boxed{{{answer}}}", "\\boxed{wrong words}", f"<think>hm</think> \\boxed{{{answer}}}", "no box"]
    engine = FakeEngine(tokenizer, replies)
    prompt = chat(tokenizer, row["prompt"])
    results = run_group(load_executor(), prompt, row["label"], engine, tokenizer, n=4)
    assert [r["reward"] for r in results] == [1.0, 0.0, 1.0, 0.0]
    assert all(float(r["scores"]) == r["reward"] for r in results)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    for r in results:
        assert r["observation_tokens"][:len(prompt_ids)] == prompt_ids
        (start, end), = r["action_ranges"]
        assert start == len(prompt_ids) and end == len(r["observation_tokens"])
        assert r["rollout_log_probs"][start:] == [-0.5] * (end - start)
        assert r["extra_logs"] == {"pz/agent_error": 0.0} and r["label"] == row["label"]
    assert all(req == prompt_ids for req in engine.requests)


def test_failures_cost_one_sample_not_the_batch(envs, tokenizer, tmp_path, caplog):
    row = json.loads(export_prompts(envs["MaskedSpan"], 1, tmp_path / "p.jsonl").read_text())
    executor = load_executor()
    bad_labels = [
        "not json at all",
        json.dumps({"env": "pretrainzero/nope-MaskedSpan-v1", "paragraph_id": "x", "seed": 1}),
        json.dumps({**parse_label(row["label"]), "paragraph_id": "pz-orltest:999"}),
    ]
    with caplog.at_level(logging.WARNING, logger="pretrainzero.openrlhf.stock_agent"):
        for bad in bad_labels:
            engine = FakeEngine(tokenizer, ["\\boxed{x}"])
            result, = run_group(executor, chat(tokenizer, row["prompt"]), bad, engine, tokenizer, n=1)
            assert result["reward"] == 0.0 and result["extra_logs"] == {"pz/agent_error": 1.0}
        # a prompt that is not the label's episode (the corpus changed since export) is caught too
        other = json.loads(export_prompts(envs["MaskedSpan"], 2, tmp_path / "o.jsonl", seed=9)
                           .read_text().splitlines()[1])
        result, = run_group(executor, chat(tokenizer, "something else entirely"), other["label"],
                            FakeEngine(tokenizer, ["\\boxed{x}"]), tokenizer, n=1)
        assert result["reward"] == 0.0
    reasons = [r.getMessage() for r in caplog.records]
    assert len(reasons) == 4 and all("sample gets reward 0" in m for m in reasons)
    assert "JSONDecodeError" in reasons[0] and "nope-MaskedSpan" in reasons[1] and "pz-orltest:999" in reasons[2]
    assert "not in the prompt" in reasons[3]


def test_a_two_step_env_continues_as_a_new_user_turn(envs, tokenizer, tmp_path):
    row = json.loads(export_prompts(envs["ActiveMasking"], 1, tmp_path / "a.jsonl", seed=2).read_text())
    label = parse_label(row["label"])
    env = gymnasium.make(envs["ActiveMasking"])
    env.reset(options={"paragraph_id": label["paragraph_id"], "seed": label["seed"]})
    paragraph = env.unwrapped._paragraph.text
    span = paragraph.split()[3]
    predict_obs, *_ = env.step(f"\\mask{{{span}}}")
    engine = FakeEngine(tokenizer, [f"\\mask{{{span}}}", f"\\boxed{{{span}}}"])
    prompt = chat(tokenizer, row["prompt"])
    result, = run_group(load_executor(), prompt, row["label"], engine, tokenizer, n=1)
    assert result["reward"] == 1.0 and len(result["action_ranges"]) == 2
    second = tokenizer.decode(engine.requests[1])
    assert second.startswith(prompt) and second.endswith(chat(tokenizer, predict_obs)[-40:])
    # the prediction prompt is the next chat turn, exactly as the template writes a two-turn chat
    assert second == prompt + f"\\mask{{{span}}}<|im_end|>\n" + chat(tokenizer, predict_obs)
