"""Checks a training run makes before anything heavy (model, data index, sampler) loads.

The recipe itself was validated field by field when it was built; these checks need the
environment: the corpus registry, importable user code, the device, the model reference. Each
failure is one :class:`~pretrainzero.errors.UserError` line naming the input and the fix.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from ..errors import UserError
from .recipe import Recipe


def predictor_reward_factory(recipe: Recipe) -> Any:
    """The user's reward factory for ``predictor_reward: module:factory`` (None for built-ins)."""
    if ":" not in recipe.predictor_reward:
        return None
    from ..plugins import load_object

    factory = load_object(recipe.predictor_reward, "predictor_reward")
    if not callable(factory):
        raise UserError(
            f"predictor_reward {recipe.predictor_reward!r} is not callable: it must be a factory "
            "(model, tokenizer, **predictor_reward_kwargs) -> reward function"
        )
    return factory


def check_before_loading(recipe: Recipe) -> None:
    """Corpus registered, user code importable, maskers buildable, device present, model findable."""
    from ..corpus import get_spec
    from ..models import check_model_reference
    from .algorithms import recipe_algorithm
    from .step import build_masker

    get_spec(recipe.corpus)  # unknown -> close matches and how to register one
    predictor_reward_factory(recipe)
    recipe_algorithm(recipe)
    for name in ("random_masker", "sft_masker", "heldout_masker"):
        try:
            build_masker(getattr(recipe, name), getattr(recipe, f"{name}_kwargs"))
        except (TypeError, ValueError) as exc:
            raise UserError(f"recipe field {name}_kwargs: {exc}") from None
    if recipe.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError(
                f"device: cuda, but this torch build ({torch.__version__}) sees no CUDA device: set "
                "device: cpu (or auto)"
            )
    if recipe.sampler == "vllm" and importlib.util.find_spec("vllm") is None:
        raise UserError(
            "sampler: vllm, but vllm is not installed: pip install vllm (Linux + CUDA), or set "
            "sampler: transformers"
        )
    check_model_reference(recipe.model)
