"""Corpora: where paragraphs come from, how they are cut, and how corpora are registered.

``CorpusSpec`` declares a corpus (YAML, ``register_corpus`` or ``pretrainzero corpus add``);
``get_corpus(name)`` gives a ``Corpus`` that streams ``Paragraph`` objects in a fixed order and
offers ``len``/``corpus[i]``/``index_of`` through an on-disk index built once.
"""

from __future__ import annotations

from .corpus import Corpus, CorpusError, iter_rows
from .registry import (
    UnknownCorpusError,
    default_add_dir,
    env_path_dirs,
    get_corpus,
    get_spec,
    list_corpora,
    load_builtin_corpora,
    load_corpus_yaml,
    read_corpus_yaml,
    register_corpus,
    register_spec,
    spec_as_yaml,
    unregister_corpus,
    user_env_dir,
)
from .spec import DEFAULT_TASKS, CorpusSpec
from .stats import CorpusStats

__all__ = [
    "DEFAULT_TASKS",
    "Corpus",
    "CorpusError",
    "CorpusSpec",
    "CorpusStats",
    "UnknownCorpusError",
    "default_add_dir",
    "env_path_dirs",
    "get_corpus",
    "get_spec",
    "iter_rows",
    "list_corpora",
    "load_builtin_corpora",
    "load_corpus_yaml",
    "read_corpus_yaml",
    "register_corpus",
    "register_spec",
    "spec_as_yaml",
    "unregister_corpus",
    "user_env_dir",
]
