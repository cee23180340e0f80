"""The verifiers 0.4 (v1) Taskset over our envs, scored on real ``vf.Trace`` objects."""

from __future__ import annotations

import asyncio

import pytest

vf = pytest.importorskip("verifiers.v1")

import pretrainzero  # noqa: E402
from pretrainzero.corpus import unregister_corpus  # noqa: E402
from pretrainzero.verifiers_tasks import PretrainZeroTaskset, pretrainzero_taskset  # noqa: E402

TEXTS = (
    "The glassblower shaped a blue vase from molten sand, turning the pipe slowly while her "
    "apprentice kept the furnace roaring through the cold afternoon.",
    "Old maps of the valley show a mill beside the stream, but only the stone wheel remains, "
    "half buried in moss near the footbridge that hikers cross today.",
    "The choir rehearsed the new hymn for weeks, and on the night of the concert the conductor "
    "raised her baton while the audience fell silent in the dim hall.",
)


@pytest.fixture(scope="module")
def corpus():
    pretrainzero.register_corpus("pz-vftest", source=TEXTS, min_chars=1)
    yield "pretrainzero/pz-vftest-{}-v1"
    unregister_corpus("pz-vftest")


def score(task, reply: str) -> float:
    trace = vf.Trace(
        task=vf.TraceTask(type=type(task).__name__, data=task.data),
        agent=vf.AgentInfo(config=vf.AgentConfig()),
        root_reply=reply,
    )
    asyncio.run(task.score(trace))
    return trace.reward


def test_module_follows_the_loaders_one_taskset_rule():
    from verifiers.v1.utils.loaders import _plugin_class  # the rule vf-eval applies to a taskset module

    import pretrainzero.verifiers_tasks as module

    assert _plugin_class(module, vf.Taskset, "taskset") is PretrainZeroTaskset


def test_masked_span_tasks_load_and_score(corpus):
    env_id = corpus.format("MaskedSpan")
    tasks = list(pretrainzero_taskset(env_id, num_tasks=4, seed=10))
    assert [t.data.idx for t in tasks] == [0, 1, 2, 3]
    import gymnasium

    env = gymnasium.make(env_id).unwrapped
    for i, task in enumerate(tasks):
        obs, info = env.reset(seed=10 + i)
        assert (task.data.prompt, task.data.answer, task.data.paragraph_id) == (
            obs,
            info["answer"],
            info["paragraph_id"],
        )
    task = tasks[0]
    assert score(task, f"Let me think. \\boxed{{{task.data.answer}}}") == 1.0
    assert score(task, "\\boxed{certainly not the answer}") == 0.0
    assert score(task, "") == 0.0


def test_generator_tasks_replay_the_episode(corpus):
    (gen,) = pretrainzero_taskset(corpus.format("MaskGeneration"), num_tasks=1).take(1)
    assert gen.data.answer is None and "\\mask{}" in gen.data.prompt
    assert score(gen, "\\mask{this span is nowhere}") == 0.0
    (active,) = pretrainzero_taskset(corpus.format("ActiveMasking"), num_tasks=1)
    paragraph = TEXTS[int(active.data.paragraph_id.split(":")[1])]
    word = max(paragraph.split(), key=len).strip(",.")
    assert score(active, f"\\mask{{{word}}}") == 1.0  # the mask turn: a valid mask
    assert score(active, "\\mask{this span is nowhere}") == 0.0
