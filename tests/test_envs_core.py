"""The four env families on a tiny in-memory corpus: episodes, rewards, rebuilds, robustness."""

from __future__ import annotations

import json
import time

import gymnasium
import pytest

import pretrainzero
from pretrainzero.agents import OracleAgent, RandomAgent, play
from pretrainzero.corpus import CorpusSpec, unregister_corpus
from pretrainzero.envs import (
    ActiveMaskingEnv,
    AnyText,
    MaskedSpanEnv,
    MaskGenerationEnv,
    NextTokenEnv,
    list_envs,
    make_vec,
    register_corpus_envs,
)
from pretrainzero.envs.registration import env_id

# Written for these tests (no third-party text). One paragraph carries braces and a repeated word.
TOY_TEXTS = (
    "The lighthouse keeper climbed the spiral stairs every evening at dusk to light the great lamp "
    "that guided fishing boats past the rocky northern cape.",
    "Marta planted tomatoes, beans and sunflowers in the community garden, and by August the "
    "sunflowers had grown taller than the wooden fence around the plot.",
    "A small copper kettle whistled on the stove while the children argued about whether the "
    "moon is closer to the sea in winter or in summer.",
    "The river ferry carried bicycles, goats and crates of oranges across the muddy water twice "
    "a day, except on Sundays when the pilot went fishing.",
    "In the toy formula {a} + {b} = {c} the braces mark slots, and the teacher wrote the formula "
    "on the board before asking the class to fill each slot with a number.",
    "Every spring the village held a kite festival, and the red kite with the long paper tail won "
    "the prize three years in a row for flying above the church tower.",
)
TASKS = ("MaskedSpan", "NextToken", "MaskGeneration", "ActiveMasking")


@pytest.fixture(scope="module")
def toy():
    """Register the toy corpus under its env ids; yields ``{task: env id}``."""
    spec = pretrainzero.register_corpus("pz-envtest", source=TOY_TEXTS, min_chars=1)
    yield {task: env_id("pz-envtest", task, spec.version) for task in TASKS}
    unregister_corpus("pz-envtest")


def make(env_id: str, **kwargs):
    return gymnasium.make(env_id, **kwargs).unwrapped


# --- registration -------------------------------------------------------------------------


def test_registration_covers_every_task_and_reads_no_data(tmp_path):
    path = tmp_path / "later.jsonl"  # does not exist yet: registering and make() must not read it
    pretrainzero.register_corpus("pz-lazy", source=str(path), min_chars=1)
    try:
        ids = [i for i in list_envs() if i.startswith("pretrainzero/pz-lazy-")]
        assert sorted(ids) == sorted(f"pretrainzero/pz-lazy-{t}-v1" for t in TASKS)
        env = make("pretrainzero/pz-lazy-MaskedSpan-v1")
        path.write_text("\n".join(json.dumps({"text": t}) for t in TOY_TEXTS) + "\n")
        obs, info = env.reset(seed=0)
        assert "[mask]" in obs and info["paragraph_id"].startswith("pz-lazy:")
    finally:
        unregister_corpus("pz-lazy")


def test_version_bump_replaces_ids_and_unknown_tasks_fail():
    pretrainzero.register_corpus("pz-ver", source=TOY_TEXTS, min_chars=1, tasks=("MaskedSpan",))
    pretrainzero.register_corpus("pz-ver", source=TOY_TEXTS, min_chars=1, tasks=("MaskedSpan",), version=2)
    try:
        assert [i for i in list_envs() if "pz-ver" in i] == ["pretrainzero/pz-ver-MaskedSpan-v3"]
    finally:
        unregister_corpus("pz-ver")
    with pytest.raises(ValueError, match="Bogus"):
        register_corpus_envs(CorpusSpec(name="pz-bad", source=("x",), tasks=("MaskedSpan", "Bogus")))
    assert not [i for i in list_envs() if "pz-bad" in i]


# --- determinism and rebuilds -------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_episode_and_rebuild_from_paragraph_id(toy, task):
    env = make(toy[task])
    obs, info = env.reset(seed=7)
    again, info2 = env.reset(seed=7)
    assert (obs, info) == (again, info2)
    assert len({env.reset(seed=s)[0] for s in range(12)}) > 3  # seeds vary the episode
    for options in (
        {"paragraph_id": info["paragraph_id"], "seed": info["seed"]},
        {"paragraph_id": info["paragraph_id"]},
    ):
        rebuilt, rinfo = make(toy[task]).reset(seed=7 if "seed" not in options else None, options=options)
        assert rebuilt == obs and rinfo == info


def test_episode_stream_after_one_seed_is_reproducible(toy):
    def stream():
        env = make(toy["MaskedSpan"])
        env.reset(seed=3)
        return [env.reset()[1]["answer"] for _ in range(20)]

    assert stream() == stream()


# --- rewards -------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ("MaskedSpan", "NextToken"))
def test_predictor_rewards_only_the_hidden_span(toy, task):
    env = make(toy[task])
    _, info = env.reset(seed=1)
    answer = info["answer"]
    assert env.step(f"I think... \\boxed{{{answer}}}")[1] == 1.0
    for wrong in (f"\\boxed{{{answer} x}}", f"{answer}", f"<think>\\boxed{{{answer}}}</think>"):
        env.reset(seed=1)
        assert env.step(wrong)[1] == 0.0, wrong
    env.reset(seed=1)
    assert env.step(f"<think>hmm</think> \\boxed{{ {answer} }}")[1] == 1.0  # think stripped, spaces trimmed


def test_normalized_and_prefix_options(toy):
    env = make(toy["MaskedSpan"], normalized=True)
    _, info = env.reset(seed=2)
    assert env.step(f"\\boxed{{{info['answer'].upper()}!}}")[1] == 1.0
    strict = make(toy["MaskedSpan"])
    _, info = strict.reset(seed=2)
    assert strict.step(f"\\boxed{{{info['answer'].upper()}!}}")[1] == 0.0
    nt = make(toy["NextToken"], prefix=True)
    _, info = nt.reset(seed=4)
    assert nt.step(f"\\boxed{{{info['answer']}}}")[1] == 1.0
    nt.reset(seed=4)
    assert nt.step(f"\\boxed{{{info['answer'][:-1]}}}")[1] == 0.0 or len(info["answer"]) == 1


GARBAGE = (
    "",
    "x" * 2_000_000,
    "\\boxed{",
    "}}}{{{\\boxed{{{",
    "<think>" * 20_000 + "\\boxed{a}",
    "\\mask{" * 10_000,
    "\\boxed{\\}" + "}" * 1000,
    "\x00\ud7ff🙂中文\u200b",
    None,
    b"\xff\xfe\\boxed{x}",
    12345,
)


@pytest.mark.parametrize("task", TASKS)
def test_any_action_is_scored_without_crashing(toy, task):
    env = make(toy[task])
    start = time.perf_counter()
    for action in GARBAGE + tuple(env.action_space.sample() for _ in range(50)):
        env.reset(seed=0)
        done = False
        while not done:
            _, reward, terminated, truncated, _ = env.step(action)
            assert reward == 0.0, repr(action)[:80]
            done = terminated or truncated
    assert time.perf_counter() - start < 20


def test_step_needs_reset(toy):
    env = make(toy["MaskedSpan"])
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step("x")
    env.reset(seed=0)
    env.step("x")
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step("x")


# --- generator envs ------------------------------------------------------------------------


class CountingPredictor:
    """Answers ``right`` of ``n`` completions with ``answer`` and counts its calls."""

    def __init__(self, answer: str, right: int):
        self.answer, self.right, self.calls = answer, right, 0

    def __call__(self, prompts: list[str], n: int) -> list[list[str]]:
        self.calls += 1
        assert len(prompts) == 1 and "[mask]" in prompts[0] and self.answer not in prompts[0]
        return [[f"\\boxed{{{self.answer}}}"] * self.right + ["\\boxed{nope}"] * (n - self.right)]


@pytest.mark.parametrize(
    ("right", "shape", "expected"),
    [(8, "paper", 0.0), (1, "paper", 0.875), (0, "paper", 0.0), (4, "rzero", 1.0)],
)
def test_mask_generation_reward_from_injected_predictor(toy, right, shape, expected):
    predictor = CountingPredictor("lighthouse keeper", right)
    env = make(toy["MaskGeneration"], predictor=predictor, shape=shape)
    env.reset(options={"paragraph_id": "pz-envtest:0:0", "seed": 0})
    _, reward, terminated, _, info = env.step("Reasoning...\\mask{lighthouse keeper}")
    assert terminated and reward == pytest.approx(expected)
    assert info["valid"] and info["answer"] == "lighthouse keeper" and info["accuracy"] == right / 8
    assert predictor.calls == 1


@pytest.mark.parametrize(
    ("action", "rule", "reason"),
    [
        ("no mask here", "default", "no_mask"),
        ("\\mask{  }", "default", "empty"),
        ("\\mask{submarine}", "default", "not_found"),
        ("\\mask{e}", "default", "too_frequent"),
        ("\\mask{ighthous}", "words", "not_whole_words"),
    ],
)
def test_invalid_masks_score_zero_without_predictions(toy, action, rule, reason):
    predictor = CountingPredictor("x", 8)
    env = make(toy["MaskGeneration"], predictor=predictor, mask_rule=rule)
    env.reset(options={"paragraph_id": "pz-envtest:0:0", "seed": 0})
    _, reward, _, _, info = env.step(action)
    assert (reward, info["valid"], info["reason"], predictor.calls) == (0.0, False, reason, 0)


def test_default_predictor_is_a_seeded_stand_in(toy):
    env = make(toy["MaskGeneration"])
    runs = []
    for _ in range(2):
        env.reset(options={"paragraph_id": "pz-envtest:0:0", "seed": 5})
        runs.append(env.step("\\mask{northern}")[4]["predictions"])
    assert runs[0] == runs[1] and len(runs[0]) == 8 and all(p.startswith("\\boxed{") for p in runs[0])


def test_active_masking_two_steps_and_group_keys(toy):
    env = make(toy["ActiveMasking"])
    obs, info = env.reset(options={"paragraph_id": "pz-envtest:5:0", "seed": 11})
    assert "\\mask{}" in obs and info["phase"] == "mask"
    obs2, r1, term1, _, info1 = env.step("\\mask{red kite}")
    assert (r1, term1, info1["valid"], info1["occurrences"]) == (0.0, False, True, 1)
    assert "[mask]" in obs2 and "red kite" not in obs2 and info1["masked_prompt"] == obs2
    _, r2, term2, _, info2 = env.step("\\boxed{red kite}")
    assert (r2, term2, info2["role"], info2["correct"]) == (1.0, True, "predictor", True)
    keys = info2["group_keys"]
    assert keys["generator"] == info["group_keys"]["generator"] == info1["group_keys"]["generator"]
    other = make(toy["ActiveMasking"])
    other.reset(options={"paragraph_id": "pz-envtest:5:0", "seed": 11})
    other_keys = other.step("\\mask{kite festival}")[4]["group_keys"]
    assert other_keys["generator"] == keys["generator"] and other_keys["predictor"] != keys["predictor"]
    bad = make(toy["ActiveMasking"])
    bad.reset(seed=0)
    _, reward, terminated, _, info = bad.step("\\mask{not in the text at all}")
    assert (reward, terminated, info["valid"], info["reason"]) == (0.0, True, False, "not_found")


# --- agents and vector envs ------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_oracle_scores_and_random_does_not(toy, task):
    env = make(toy[task])
    oracle = play(env, OracleAgent(), 60, seed=0)
    rand = play(env, RandomAgent(seed=0), 60, seed=1)
    if task == "MaskGeneration":
        assert oracle.mask_valid_rate == 1.0
    else:
        assert oracle.mean_reward == 1.0
    assert rand.mean_reward <= 0.1


@pytest.mark.parametrize("mode", ("sync", "async"))
def test_make_vec_with_oracle(toy, mode):
    envs = make_vec(toy["MaskedSpan"], 3, mode)
    try:
        obs, infos = envs.reset(seed=0)
        assert len(obs) == 3 and all("[mask]" in o for o in obs)
        _, rewards, terminated, _, _ = envs.step(OracleAgent().act(obs, infos))
        assert rewards.tolist() == [1.0, 1.0, 1.0] and terminated.all()
    finally:
        envs.close()


def test_vector_active_masking_across_autoresets(toy):
    envs = gymnasium.make_vec(toy["ActiveMasking"], 2, "sync")
    oracle, total = OracleAgent(), 0.0
    obs, infos = envs.reset(seed=3)
    for _ in range(6):  # mask, predict, autoreset, mask, predict, autoreset
        obs, rewards, _, truncated, infos = envs.step(oracle.act(obs, infos))
        total += rewards.sum()
        assert not truncated.any()
    envs.close()
    assert total == 4.0


def test_plain_async_make_vec_uses_our_shared_memory_hooks(toy):
    sync = gymnasium.make_vec(toy["ActiveMasking"], 2, "sync")
    plain = gymnasium.make_vec(toy["ActiveMasking"], 2, "async")  # shared memory on (the default)
    try:
        for seed in (0, 1):
            obs, infos = sync.reset(seed=seed)
            assert plain.reset(seed=seed)[0] == obs  # fresh text each reset, not a stale buffer
            actions = OracleAgent().act(obs, infos)
            assert plain.step(actions)[0] == sync.step(actions)[0]
    finally:
        sync.close()
        plain.close()


def test_shared_memory_slot_overflow_names_the_fix():
    from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

    space = AnyText(4)  # a 16-byte slot
    memory = create_shared_memory(space, n=2)
    write_to_shared_memory(space, 1, "ok é", memory)
    assert read_from_shared_memory(space, memory, n=2)[1] == "ok é"
    with pytest.raises(ValueError, match="shared_memory"):
        write_to_shared_memory(space, 0, "🙂" * 5, memory)


def test_env_classes_take_in_memory_corpora():
    for cls in (MaskedSpanEnv, NextTokenEnv, MaskGenerationEnv, ActiveMaskingEnv):
        obs, info = cls(list(TOY_TEXTS)).reset(seed=0)
        assert info["paragraph_id"].startswith("memory:") and obs
    with pytest.raises(ValueError, match="unknown masker"):
        MaskedSpanEnv(list(TOY_TEXTS), masker="nope")
    whole = MaskedSpanEnv(list(TOY_TEXTS), masker="whole_word", masker_kwargs={"min_chars": 6})
    _, info = whole.reset(seed=0)
    assert len(info["answer"]) >= 6 and " " not in info["answer"]


def test_python_registered_corpus_works_in_spawned_async_workers(tmp_path, monkeypatch):
    """A spawned worker re-imports pretrainzero and never sees this process's register_corpus
    call; the env id carries the full spec, so the worker builds the env anyway."""
    monkeypatch.setenv("PRETRAINZERO_CACHE", str(tmp_path / "cache"))
    texts = tuple(
        f"Harbour note {i}: the ferry left the quay at dawn with {i} crates of apples and returned at dusk."
        for i in range(6)
    )
    pretrainzero.register_corpus("pz-spawned", source=texts, min_chars=20)
    try:
        envs = pretrainzero.make_vec(
            "pretrainzero/pz-spawned-MaskedSpan-v1", 2, "async", vector_kwargs={"context": "spawn"}
        )
        try:
            obs, info = envs.reset(seed=0)
            assert all("[mask]" in o for o in obs)
            assert all(p.startswith("pz-spawned:") for p in info["paragraph_id"])
            _, reward, terminated, _, _ = envs.step(OracleAgent().act(obs, info))
            assert list(reward) == [1.0, 1.0] and all(terminated)
        finally:
            envs.close()
    finally:
        unregister_corpus("pz-spawned")

