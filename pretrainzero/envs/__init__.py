"""Gymnasium text environments: ``MaskedSpan``, ``NextToken``, ``MaskGeneration``, ``ActiveMasking``.

Observations and actions are ``str`` (:class:`AnyText` spaces). Every corpus x task is
registered as ``pretrainzero/{corpus}-{Task}-v{N}`` when the corpus is registered (at
``import pretrainzero`` for the YAML corpora); ``gymnasium.make`` and ``make_vec`` (sync or
async) work on every id. ``reset(seed=s)`` is reproducible, and ``info`` names the paragraph id
and episode seed, so ``reset(options={"paragraph_id": p, "seed": e})`` rebuilds any episode.
Kwargs pass through ``gymnasium.make(id, masker="whole_word", normalized=True, ...)``.
"""

from __future__ import annotations

from ..corpus.registry import add_listener
from .active_masking import ActiveMaskingEnv
from .base import CorpusEnv, SequenceCorpus
from .mask_generation import MaskGenerationEnv
from .masked_span import MaskedSpanEnv
from .maskers import MASKERS, make_masker
from .next_token import NextTokenEnv
from .predictors import HeuristicPredictor
from .registration import (
    ENV_VERSION,
    TASKS,
    UnknownEnvError,
    env_id,
    list_envs,
    make_vec,
    register_corpus_envs,
    resolve_env_id,
    unregister_corpus_envs,
)
from .spaces import AnyText
from .vector import SharedTexts  # registers AnyText's shared-memory hooks

__all__ = [
    "ENV_VERSION",
    "MASKERS",
    "TASKS",
    "UnknownEnvError",
    "ActiveMaskingEnv",
    "AnyText",
    "CorpusEnv",
    "HeuristicPredictor",
    "MaskGenerationEnv",
    "MaskedSpanEnv",
    "NextTokenEnv",
    "SequenceCorpus",
    "SharedTexts",
    "env_id",
    "list_envs",
    "make_masker",
    "make_vec",
    "register_corpus_envs",
    "resolve_env_id",
    "unregister_corpus_envs",
]

add_listener(register_corpus_envs, unregister_corpus_envs)  # envs observe corpora (one-way)
