r"""Pure reward functions shared by the envs, the trainers, the OpenRLHF glue and verifiers.

* Predictor: exact match of the last ``\boxed{}`` with the hidden span (the paper's strict
  rule: equal after stripping surrounding whitespace), or the documented ``normalized``
  variant (case, punctuation, articles and whitespace folded, as in SQuAD).
* Next-token baseline: RPT-style prefix match.
* Generator: a shape of the predictor's group accuracy, chosen by name (:data:`GENERATOR_SHAPES`).
  Invalid masks get 0 before any shape is applied.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections.abc import Callable, Sequence

from .parsing import last_boxed, strip_think

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "“”‘’«»–—"})


def normalize_answer(text: str) -> str:
    """SQuAD-style normalisation: NFKC, lower case, punctuation and articles to spaces, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str | None, answer: str, *, normalized: bool = False) -> float:
    """1.0 if the prediction equals the answer (strict, or after :func:`normalize_answer`)."""
    if prediction is None:
        return 0.0
    if normalized:
        a = normalize_answer(answer)
        return float(bool(a) and normalize_answer(prediction) == a)
    a = answer.strip()
    return float(bool(a) and prediction.strip() == a)


def extract_prediction(completion: str, *, think: bool = True) -> str | None:
    r"""The predictor's answer: last ``\boxed{}`` after optional ``<think>`` stripping."""
    return last_boxed(strip_think(completion) if think else completion)


def prefix_match(prediction: str | None, continuation: str) -> float:
    """RPT-style reward: the prediction is a non-empty prefix of the true continuation ending
    on a word boundary (so "Par" does not score against "Paris")."""
    if prediction is None:
        return 0.0
    p = prediction.strip()
    c = continuation.lstrip()
    if not p or not c.startswith(p):
        return 0.0
    return float(len(p) == len(c) or not (c[len(p) - 1].isalnum() and c[len(p)].isalnum()))


def paper_shape(accuracy: float) -> float:
    """Paper Eq. 9: 1 - accuracy, and 0 when no prediction was right."""
    return 0.0 if accuracy <= 0.0 else 1.0 - accuracy


def rzero_shape(accuracy: float) -> float:
    """R-Zero challenger reward: 1 - 2|p - 0.5|, peaking at 50% solver accuracy."""
    return 1.0 - 2.0 * abs(accuracy - 0.5)


def gaussian_shape(accuracy: float, target: float = 0.25, width: float = 0.01) -> float:
    """SPICE's Challenger reward (Liu et al. 2025, "SPICE: Self-Play In Corpus Environments Improves
    Reasoning", arXiv 2510.24684): a Gaussian of the variance of the solver's binary outcomes,
    ``Var = p(1 - p)``, around its maximum 0.25 (half of the answers right), with variance 0.01:

        r = exp(-(p(1 - p) - 0.25)^2 / (2 * 0.01))

    1 at p = 0.5; exp(-3.125) = 0.044 when nobody or everybody solves the mask (p = 0 or 1); 0.37 at
    p = 1/8 or 7/8 (G = 8). The paper's equation text was not available offline; the constants are
    the ones an independent public OpenRLHF-based reimplementation uses for its ``spice`` challenger
    reward (``exp(-(var - 0.25)**2 / (2 * 0.01))`` with ``var`` the variance of the 0/1 outcomes).
    """
    variance = accuracy * (1.0 - accuracy)
    return math.exp(-((variance - target) ** 2) / (2.0 * width))


GENERATOR_SHAPES: dict[str, Callable[[float], float]] = {
    "paper": paper_shape,
    "rzero": rzero_shape,
    "gaussian": gaussian_shape,
}


def generator_reward(predictor_rewards: Sequence[float], *, valid: bool = True, shape: str = "paper") -> float:
    """Generator reward for one mask from its G predictor rewards (0 for an invalid mask)."""
    try:
        fn = GENERATOR_SHAPES[shape]
    except KeyError:
        raise ValueError(f"unknown generator reward shape {shape!r}; "
                         f"choose one of {sorted(GENERATOR_SHAPES)}") from None
    if not valid or not predictor_rewards:
        return 0.0
    accuracy = sum(1.0 for r in predictor_rewards if r > 0) / len(predictor_rewards)
    return float(fn(accuracy))
