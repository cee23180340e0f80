"""RL algorithms by name: one short file each, plus user algorithms given as ``"module:Class"``.

>>> get_algorithm("dapo").eps_high
0.28

Adding an algorithm means adding a file and one line to :data:`ALGORITHMS`. A user algorithm
needs no registration: ``algorithm: mypkg.algo:MyAlgo`` in a recipe imports it.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any

from .base import Algorithm

ALGORITHMS: dict[str, str] = {
    "grpo": "pretrainzero.rl.algorithms.grpo:GRPO",
    "dapo": "pretrainzero.rl.algorithms.dapo:DAPO",
    "dr_grpo": "pretrainzero.rl.algorithms.dr_grpo:DrGRPO",
    "rloo": "pretrainzero.rl.algorithms.rloo:RLOO",
    "reinforce_pp": "pretrainzero.rl.algorithms.reinforce_pp:ReinforcePP",
    "reinforce": "pretrainzero.rl.algorithms.reinforce:Reinforce",
}


def resolve_algorithm(name: str) -> type:
    """The algorithm class for a registered name or a ``"module:Class"`` / ``"module.Class"`` path."""
    target = ALGORITHMS.get(name)
    if target is None:
        if ":" not in name and "." not in name:
            close = difflib.get_close_matches(name, ALGORITHMS, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"unknown algorithm {name!r}{hint}; choose one of {sorted(ALGORITHMS)} or 'module:Class'")
        target = name
    module, _, attr = target.rpartition(":") if ":" in target else target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import algorithm {name!r}: {exc}") from None
    for method in ("advantages", "loss"):
        if not callable(getattr(cls, method, None)):
            raise ValueError(f"algorithm {name!r} has no {method}() method")
    return cls


def get_algorithm(name: str, **kwargs: Any) -> Algorithm:
    """Instantiate an algorithm by name or dotted path; ``kwargs`` go to its constructor."""
    cls = resolve_algorithm(name)
    try:
        algo = cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad arguments for algorithm {name!r}: {exc}") from None
    if getattr(algo, "aggregation", "sequence") not in ("token", "sequence"):
        raise ValueError(f"algorithm {name!r}: aggregation must be 'token' or 'sequence'")
    return algo


def recipe_algorithm(recipe: Any) -> Algorithm:
    """The recipe's algorithm. An algorithm taking ``norm_len`` (Dr. GRPO's constant divisor) gets the
    recipe's ``max_response_tokens`` unless ``algorithm_kwargs`` sets it."""
    kwargs = dict(recipe.algorithm_kwargs)
    if "norm_len" in inspect.signature(resolve_algorithm(recipe.algorithm)).parameters:
        kwargs.setdefault("norm_len", recipe.max_response_tokens)
    return get_algorithm(recipe.algorithm, **kwargs)


__all__ = ["ALGORITHMS", "Algorithm", "get_algorithm", "recipe_algorithm", "resolve_algorithm"]
