"""Numeric precision of a training run: the recipe's ``dtype`` and ``gradient_checkpointing``.

``dtype`` names how weights are *stored* and how the model *computes*:

* ``float32``: fp32 weights, fp32 compute.
* ``bfloat16`` (mixed precision, the paper recipes): fp32 master weights, fp32 gradients and fp32
  AdamW state; every forward (sampling, the training pass, SFT, held-out) runs under
  ``torch.autocast(bfloat16)``, so matmuls are bf16 while the update is applied to fp32 weights.
  An update of lr 5e-7 is far below bf16's rounding step for typical weights (|w| ~ 0.02 gives a
  step of ~6e-5), so without fp32 masters almost no weight would move. Checkpoints hold the fp32
  masters (resume is bitwise).
* ``bfloat16-pure``: bf16 weights, bf16 AdamW state, bf16 compute (half the memory of the
  masters, but updates below the rounding step are lost: the trainer warns at lr < 1e-5).

Gradient checkpointing recomputes each decoder layer's activations in the backward pass instead of
storing them (less memory, ~1/3 more compute), with the same loss and gradients.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

DTYPES: tuple[str, ...] = ("float32", "bfloat16", "bfloat16-pure")
PURE_BF16_MIN_LR = 1e-5


@dataclass(frozen=True)
class Precision:
    """``param_dtype``: the weights' (and optimizer state's) dtype; ``compute_dtype``: the forward's."""

    name: str
    param_dtype: str
    compute_dtype: str

    @property
    def mixed(self) -> bool:
        return self.param_dtype != self.compute_dtype

    def autocast(self, device: str) -> contextlib.AbstractContextManager[Any]:
        """Autocast to the compute dtype under mixed precision; a no-op otherwise."""
        if not self.mixed:
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device_type=device, dtype=getattr(torch, self.compute_dtype))

    def warning(self, lr: float) -> str | None:
        """Why this precision may silently not train at ``lr`` (None when it is fine)."""
        if self.name == "bfloat16-pure" and lr < PURE_BF16_MIN_LR:
            return (f"dtype bfloat16-pure with lr {lr:g}: AdamW updates below bf16's rounding step (~4e-3 relative) "
                    "are lost, so most weights will not change; use dtype: bfloat16 (fp32 master weights)")
        return None


def precision(name: str) -> Precision:
    """The :class:`Precision` of a recipe ``dtype`` name."""
    if name == "bfloat16":
        return Precision(name, "float32", "bfloat16")
    if name == "bfloat16-pure":
        return Precision(name, "bfloat16", "bfloat16")
    if name == "float32":
        return Precision(name, "float32", "float32")
    raise ValueError(f"dtype must be one of {DTYPES}, got {name!r}")


def enable_gradient_checkpointing(model: Any) -> None:
    """Turn on non-reentrant activation checkpointing of the model's decoder layers."""
    if not getattr(model, "supports_gradient_checkpointing", False):
        raise ValueError(f"{type(model).__name__} does not support gradient checkpointing")
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.2x; the old name is deprecated
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


@contextlib.contextmanager
def checkpointed_layers(model: Any) -> Iterator[None]:
    """Make gradient checkpointing act while the model stays in eval mode.

    transformers checkpoints a layer only when that layer is in training mode, but the trainer keeps
    the model in eval mode (no dropout: the trained policy must be the sampled one). So only the
    checkpointing layers themselves get ``training = True`` (not their submodules, whose dropout
    stays off) for the duration of the training pass.
    """
    layers = [m for m in model.modules() if getattr(m, "gradient_checkpointing", False) is True]
    saved = [m.training for m in layers]
    for m in layers:
        m.training = True
    try:
        yield
    finally:
        for m, t in zip(layers, saved, strict=True):
            m.training = t
