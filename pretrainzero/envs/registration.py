"""Gymnasium ids for every corpus x task: ``pretrainzero/{corpus}-{Task}-v{N}``.

``N = ENV_VERSION + corpus spec version``: bump :data:`ENV_VERSION` whenever masking, prompts or
scoring change, so results under one id stay comparable. Registering reads no data; an env loads
its corpus on the first ``reset``. History: v1 — a truncated final ``\\boxed{``/``\\mask{`` is a
missing answer (no fallback to an earlier complete one); the ``gaussian`` generator shape is SPICE's
(a Gaussian of p(1 - p) around 0.25).

The env layer observes the corpus registry (``envs/__init__`` installs :func:`register_corpus_envs`
as a listener), so the corpus layer never imports this one. Each id's kwargs carry the full
:class:`CorpusSpec`, not only its name: a vector-env worker started with ``spawn`` rebuilds the
env from that, even for a corpus registered from Python in the parent.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import gymnasium

from ..corpus.spec import CorpusSpec

NAMESPACE = "pretrainzero"
ENV_VERSION = 1


@dataclass(frozen=True)
class TaskEntry:
    """How to build one env family."""

    entry_point: str
    steps: int  # steps per episode, fixed by the game (so no TimeLimit wrapper: it would mark
    # the natural end of every episode as truncated too)
    summary: str


TASKS: dict[str, TaskEntry] = {
    "MaskedSpan": TaskEntry(
        "pretrainzero.envs.masked_span:MaskedSpanEnv", 1, "predict a random masked span (Random RLPT)"
    ),
    "NextToken": TaskEntry(
        "pretrainzero.envs.next_token:NextTokenEnv", 1, "predict the next word (RPT baseline)"
    ),
    "MaskGeneration": TaskEntry(
        "pretrainzero.envs.mask_generation:MaskGenerationEnv", 1, "propose a mask, scored by G predictions"
    ),
    "ActiveMasking": TaskEntry(
        "pretrainzero.envs.active_masking:ActiveMaskingEnv", 2, "mask, then predict: the PretrainZero game"
    ),
}


def env_id(corpus: str, task: str, version: int = 0) -> str:
    """The registered id of a corpus x task."""
    return f"{NAMESPACE}/{corpus}-{task}-v{ENV_VERSION + version}"


def _ids_of(name: str) -> list[str]:
    stale = re.compile(rf"{re.escape(NAMESPACE)}/{re.escape(name)}-({'|'.join(TASKS)})-v\d+")
    return [i for i in gymnasium.registry if stale.fullmatch(i)]


def register_corpus_envs(spec: CorpusSpec) -> list[str]:
    """Register ``spec.tasks`` for corpus ``spec.name``; returns the ids.

    Re-registering a corpus replaces its ids (older versions included) without warnings.
    """
    unknown = [t for t in spec.tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) {unknown} for corpus {spec.name!r}; choose from {sorted(TASKS)}")
    unregister_corpus_envs(spec)
    ids = []
    for task in spec.tasks:
        entry = TASKS[task]
        ids.append(env_id(spec.name, task, spec.version))
        gymnasium.register(id=ids[-1], entry_point=entry.entry_point, kwargs={"corpus": spec})
    return ids


def unregister_corpus_envs(spec: CorpusSpec) -> None:
    """Drop every ``pretrainzero/<spec.name>-<Task>-vN`` id."""
    for old in _ids_of(spec.name):
        del gymnasium.registry[old]


def list_envs() -> list[str]:
    """Every registered ``pretrainzero/...`` id, sorted; loads no data."""
    return sorted(i for i in gymnasium.registry if i.startswith(NAMESPACE + "/"))


class UnknownEnvError(KeyError, ValueError):
    """No env of that id is registered (the message names close matches)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def resolve_env_id(name: str) -> str:
    """The registered id for ``name`` (the ``pretrainzero/`` prefix may be left out).

    Raises :class:`UnknownEnvError` naming the closest registered ids.
    """
    for candidate in (name, f"{NAMESPACE}/{name}"):
        if candidate in gymnasium.registry:
            return candidate
    ids = list_envs()
    close = difflib.get_close_matches(name, ids, n=3, cutoff=0.6) or difflib.get_close_matches(
        f"{NAMESPACE}/{name}", ids, n=3, cutoff=0.6
    )
    hint = f"; did you mean {', '.join(close)}?" if close else "; see `pretrainzero list envs`"
    raise UnknownEnvError(f"unknown env id {name!r}{hint}")


def make_vec(env: str, num_envs: int = 1, vectorization_mode: str = "sync", **kwargs: Any) -> Any:
    """``gymnasium.make_vec`` that sends ``async`` observations by pipe instead of shared memory.

    Plain ``gymnasium.make_vec(id, n, "async")`` works too (see :mod:`.vector`), but its
    shared-memory slots cap an observation at 1 MiB; pipes have no cap.
    """
    if vectorization_mode == "async":
        kwargs["vector_kwargs"] = {"shared_memory": False, **kwargs.get("vector_kwargs", {})}
    return gymnasium.make_vec(env, num_envs, vectorization_mode, **kwargs)
