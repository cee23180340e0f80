"""PretrainZero gym: reinforcement active pretraining (arXiv 2512.03442) as text environments.

Importing the package registers every built-in corpus (YAML files in the repository's
``envs/`` folder and in the folders named by ``PRETRAINZERO_ENV_PATH``) times every task as
Gymnasium ids such as ``pretrainzero/wiki-vital-en-MaskedSpan-v1``. Registration reads no data.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .corpus import (
    Corpus,
    CorpusSpec,
    get_corpus,
    list_corpora,
    load_builtin_corpora,
    load_corpus_yaml,
    register_corpus,
)
from .envs import list_envs, make_vec
from .types import Paragraph

__all__ = [
    "Corpus",
    "CorpusSpec",
    "Paragraph",
    "__version__",
    "get_corpus",
    "list_corpora",
    "list_envs",
    "load_corpus_yaml",
    "make_vec",
    "register_corpus",
]

load_builtin_corpora()  # parses YAML only; reads no corpus data
