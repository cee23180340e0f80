"""RL algorithms by name: one short file each, plus user algorithms given as ``"module:Class"``.

>>> get_algorithm("dapo").eps_high
0.28

Adding an algorithm means adding a file and one line to :data:`ALGORITHMS`. A user algorithm
needs no registration: ``algorithm: mypkg.algo:MyAlgo`` in a recipe imports it.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

from ...errors import UserError
from ...plugins import load_object
from .base import Algorithm

ALGORITHMS: dict[str, str] = {
    "grpo": "pretrainzero.rl.algorithms.grpo:GRPO",
    "dapo": "pretrainzero.rl.algorithms.dapo:DAPO",
    "dr_grpo": "pretrainzero.rl.algorithms.dr_grpo:DrGRPO",
    "rloo": "pretrainzero.rl.algorithms.rloo:RLOO",
    "reinforce_pp": "pretrainzero.rl.algorithms.reinforce_pp:ReinforcePP",
    "reinforce": "pretrainzero.rl.algorithms.reinforce:Reinforce",
}


# the two methods the trainer calls, with their positional arguments
_METHODS: dict[str, tuple[str, ...]] = {
    "advantages": ("rewards", "group_ids"),
    "loss": ("new_logp", "old_logp", "adv", "mask"),
}


def resolve_algorithm(name: str) -> type:
    """The algorithm class for a registered name, ``"module:Class"``, ``"module.Class"`` or
    ``"path/to/file.py:Class"``; its ``advantages`` and ``loss`` signatures are checked here."""
    target = ALGORITHMS.get(name)
    if target is None:
        if ":" not in name and "." not in name:
            close = difflib.get_close_matches(name, ALGORITHMS, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"unknown algorithm {name!r}{hint}; choose one of {sorted(ALGORITHMS)} or 'module:Class'")
        target = name
    cls = load_object(target, "algorithm")
    for method, args in _METHODS.items():
        fn = getattr(cls, method, None)
        if not callable(fn):
            wanted = f"{method}(self, {', '.join(args)})"
            raise UserError(f"algorithm {name!r} has no {method}() method; it needs {wanted}")
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):  # a builtin or C callable: nothing to check
            continue
        unbound = inspect.isfunction(fn) and not isinstance(inspect.getattr_static(cls, method), staticmethod)
        try:  # a plain function looked up on the class: ``self`` takes the first place
            sig.bind(*(["self"] if unbound else []), *args)
        except TypeError:
            wanted = f"{method}(self, {', '.join(args)})"
            raise UserError(f"algorithm {name!r}: {method}{sig} cannot be called as {wanted}") from None
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
