"""Training recipes: YAML files in ``agents/`` loaded into frozen, validated dataclasses.

Every field is checked when the recipe is built, before any model loads: an unknown key names
itself and suggests close matches; a wrong type or out-of-range value names the field. The
dataclass defaults are the paper's settings for >= 3B models (P=32 paragraphs, G_gen=8 masks,
G_pred=8 predictions, prompt <= 1536 and response <= 4096 tokens, lr 5e-7 cosine, no KL,
clip-higher 0.2/0.28, 2000 steps); tiny CPU models need the recipe in
``agents/smollm2-135m-cpu.yaml``.

    recipe = load_recipe("agents/tiny-test.yaml", overrides=["steps=2", "sft.steps=0"])
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..errors import UserError
from ..masking import MASK_RULES, MASKERS, make_masker
from ..openrlhf.config import OpenRLHFConfig
from ..rewards import GENERATOR_SHAPES
from .checks import check_finite, check_range
from .sft import SFTConfig

Mode = Literal["pretrainzero", "random-rlpt", "rpt"]


@dataclass(frozen=True)
class Recipe:
    """Everything a training run needs. YAML keys are these field names (``sft:`` is a mapping)."""

    # What to train
    name: str = "pretrainzero"
    model: str = "Qwen/Qwen3-4B-Base"  # HF id, local directory or the alias "smollm2-135m"
    # bfloat16: bf16 compute (autocast) on fp32 master weights and optimizer state; bfloat16-pure:
    # everything bf16 (updates below bf16's rounding step are lost). See pretrainzero.rl.precision.
    dtype: Literal["float32", "bfloat16", "bfloat16-pure"] = "bfloat16"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    corpus: str = "wiki-vital-en"
    seed: int = 0

    # The game
    mode: Mode = "pretrainzero"
    paragraphs_per_step: int = 32  # P
    g_gen: int = 8  # masks sampled per paragraph (generator group)
    g_pred: int = 8  # predictions sampled per valid mask (predictor group)
    mask_rule: Literal["default", "onemask", "words"] = "default"
    generator_reward: str = "paper"  # paper | rzero | gaussian
    predictor_reward: str = "exact"  # exact, or a name/"module:factory" from pretrainzero.rl.step
    predictor_reward_kwargs: dict[str, Any] = field(default_factory=dict)
    normalized_match: bool = False  # SQuAD-style normalisation before exact match
    filter_groups: bool = True  # DAPO: drop groups whose rewards are all equal
    cold_start_steps: int = 0  # random-RLPT steps before active masking (paper: 100 for SmolLM3)
    random_masker: str = "random-span"  # masker of random-rlpt mode and the cold start
    random_masker_kwargs: dict[str, Any] = field(default_factory=dict)
    random_masks_per_paragraph: int = 1

    # Prompts and decoding
    prompt_form: Literal["chat", "raw"] = "chat"
    prefill: str = ""  # start of the predictor's answer, e.g. "\\boxed{"
    mask_prefill: str = ""  # start of the generator's answer, e.g. "\\mask{"
    max_prompt_tokens: int = 1536
    max_response_tokens: int = 4096
    max_mask_response_tokens: int | None = None  # generator budget (default: max_response_tokens)
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    sampler: Literal["transformers", "vllm"] = "transformers"
    sampler_batch_size: int = 64
    shared_prefill: bool = True  # the G samples of a prompt share one prompt pass (sampling and training)
    vllm_kwargs: dict[str, Any] = field(default_factory=dict)  # extra vllm.LLM arguments (sampler: vllm)

    # Optimisation
    algorithm: str = "dapo"
    algorithm_kwargs: dict[str, Any] = field(default_factory=dict)
    lr: float = 5e-7
    warmup_steps: int = 20
    schedule: Literal["cosine", "constant"] = "cosine"
    min_lr_ratio: float = 0.0
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    micro_batch_size: int = 8  # sequences per forward/backward; gradients accumulate over the batch
    mini_batches: int = 1  # optimizer steps per rollout batch (k > 1: ratio vs the rollout policy, clip acts)
    gradient_checkpointing: bool = False  # recompute layer activations in backward (less memory)
    steps: int = 2000
    max_minutes: float | None = None  # wall-clock budget of the RL loop; stops early (checkpointed)
    nan_patience: int = 3  # this many non-finite losses in a row stop the run

    # Cold start by supervised fine-tuning (pretrainzero.rl.sft; None = none). Its prompt form and
    # prefills are taken from this recipe so that SFT and RL see identical prompts.
    sft: SFTConfig | None = None
    sft_masker: str = "whole-word"
    sft_masker_kwargs: dict[str, Any] = field(default_factory=dict)
    sft_paragraphs: int = 0  # paragraphs to derive SFT examples from (0: steps x batch_size)

    # Bookkeeping
    save_every: int = 100
    keep_checkpoints: int = 2
    heldout_n: int = 200
    heldout_masker: str = "random-span"  # how held-out paragraphs are masked (fixed per paragraph id)
    heldout_masker_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_at_start: bool = True
    eval_at_end: bool = True
    eval_max_tokens: int | None = None  # held-out eval response budget (default: max_response_tokens)
    heldout_samples: int = 0  # k > 0 adds held-out mean@k accuracy, sampled at `temperature`
    report_to: tuple[str, ...] = ()  # experiment trackers: tensorboard, wandb, trackio (metrics.jsonl always)

    # Many GPUs: placement and plug-ins for `pretrainzero train --backend openrlhf` (None: not set up)
    openrlhf: OpenRLHFConfig | None = None

    def __post_init__(self) -> None:
        for name in ("paragraphs_per_step", "g_gen", "g_pred", "max_prompt_tokens", "max_response_tokens",
                     "sampler_batch_size", "micro_batch_size", "mini_batches", "nan_patience", "save_every",
                     "keep_checkpoints", "random_masks_per_paragraph"):
            _positive(self, name)
        for name in ("steps", "warmup_steps", "cold_start_steps", "heldout_n", "sft_paragraphs", "heldout_samples"):
            _positive(self, name, minimum=0)
        if self.max_mask_response_tokens is not None:
            _positive(self, "max_mask_response_tokens")
        if self.eval_max_tokens is not None:
            _positive(self, "eval_max_tokens")
        check_finite(self)
        check_range(self, "seed", 0, 2**32 - 1)
        check_range(self, "lr", 0, 1, lo_open=True, hi_open=True, why="AdamW learning rates are ~1e-7 to 1e-3")
        check_range(self, "max_minutes", 0, math.inf, lo_open=True)
        check_range(self, "temperature", 0, 10, why="0 is greedy")
        if self.heldout_samples and self.temperature == 0:
            raise ValueError("heldout_samples needs temperature > 0 (it measures accuracy of sampled answers)")
        check_range(self, "top_p", 0, 1, lo_open=True)
        check_range(self, "min_lr_ratio", 0, 1)
        check_range(self, "weight_decay", 0, 1)
        check_range(self, "grad_clip", 0, math.inf, why="0 turns clipping off")
        from .tracking import TRACKERS

        for tracker in self.report_to:
            if tracker not in TRACKERS:
                raise ValueError(f"report_to: unknown tracker {tracker!r}; choose from {', '.join(TRACKERS)}")
        if self.generator_reward not in GENERATOR_SHAPES:
            raise ValueError(f"generator_reward must be one of {sorted(GENERATOR_SHAPES)}, "
                             f"got {self.generator_reward!r}")
        if self.mask_rule not in MASK_RULES:
            raise ValueError(f"mask_rule must be one of {MASK_RULES}, got {self.mask_rule!r}")
        for name in ("random_masker", "sft_masker", "heldout_masker"):
            masker = getattr(self, name)
            try:  # builds it, so a bad name or bad kwargs fail before any model loads
                make_masker(masker, getattr(self, f"{name}_kwargs"))
            except ValueError as exc:
                raise ValueError(f"{name if masker not in MASKERS else name + '_kwargs'}: {exc}") from None
        from .step import PREDICTOR_REWARDS

        if self.predictor_reward not in PREDICTOR_REWARDS and ":" not in self.predictor_reward:
            raise ValueError(f"predictor_reward must be one of {PREDICTOR_REWARDS} or 'module:factory', "
                             f"got {self.predictor_reward!r}")
        if self.predictor_reward == "likelihood":
            from .likelihood import LikelihoodRewardConfig

            try:
                LikelihoodRewardConfig(**self.predictor_reward_kwargs)
            except TypeError as exc:
                raise ValueError(f"predictor_reward_kwargs: {exc}") from None

    @property
    def mask_max_tokens(self) -> int:
        return self.max_mask_response_tokens or self.max_response_tokens

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ----------------------------------------------------------------------------- validation


def _positive(obj: Any, name: str, minimum: int = 1) -> None:
    value = getattr(obj, name)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _type_ok(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin is Literal:
        return value in typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        return any(_type_ok(value, a) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is tuple:
        return isinstance(value, tuple) and all(_type_ok(v, typing.get_args(tp)[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, tp)


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where or 'recipe'} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{where}{key}"
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"unknown recipe field {path!r}{hint}")
        tp = hints[key]
        sub = _dataclass_in(tp)
        if sub is not None and isinstance(value, Mapping):
            value = _build(sub, value, f"{path}.")
        else:
            if typing.get_origin(tp) is tuple and isinstance(value, list):
                value = tuple(value)
            if isinstance(tp, type) and tp is float and isinstance(value, str):
                try:  # YAML 1.1 reads "5e-7" as a string
                    value = float(value)
                except ValueError:
                    pass
            if not _type_ok(value, tp):
                raise ValueError(f"recipe field {path!r} must be {_type_name(tp)}, got {value!r}")
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise ValueError(f"invalid recipe{' section ' + where.rstrip('.') if where else ''}: {exc}") from None


def _dataclass_in(tp: Any) -> type | None:
    """The dataclass in ``tp`` or ``tp | None`` (nested config sections)."""
    for t in (tp, *typing.get_args(tp)):
        if isinstance(t, type) and dataclasses.is_dataclass(t):
            return t
    return None


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _set(data: dict[str, Any], override: str) -> None:
    if "=" not in override:
        raise ValueError(f"--set expects key=value, got {override!r}")
    key, _, raw = override.partition("=")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or exc
        raise UserError(f"--set {override}: the value is not valid YAML ({problem}); give a YAML value such as "
                        "5e-6, true, [a, b] or {k: v}") from None
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"--set {key}: {part!r} is not a mapping")
    node[parts[-1]] = value


def recipe_from_dict(data: Mapping[str, Any], overrides: Sequence[str] = ()) -> Recipe:
    """Build and validate a recipe from a mapping plus ``key=value`` overrides (dots for nesting)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"a recipe is a mapping of `field: value` lines, got a YAML {type(data).__name__}")
    merged = _deep_copy(dict(data))
    for o in overrides:
        _set(merged, o)
    recipe = _build(Recipe, merged, "")
    _check_algorithm(recipe)
    return recipe


def recipe_dir() -> Path:
    """The shipped recipes: the repository's ``agents/``, or the copy a wheel installs."""
    from ..paths import shipped_dir

    return shipped_dir("agents")


def list_recipes() -> list[Path]:
    """The shipped recipe files, sorted by name."""
    folder = recipe_dir()
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def find_recipe(path: str | Path) -> Path:
    """A recipe file from a path, or a shipped recipe's name (``tiny-test``, ``agents/tiny-test.yaml``).

    An existing path wins; otherwise a bare name or ``agents/<file>`` is looked up in the shipped
    recipes, so the README's commands work from any folder and from a wheel install.
    """
    p = Path(path).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        raise ValueError(f"recipe {str(path)!r} is a folder; give a YAML file or a recipe name")
    if str(p.parent) in (".", "agents"):
        shipped = recipe_dir() / (p.name if p.suffix in (".yaml", ".yml") else f"{p.name}.yaml")
        if shipped.is_file():
            return shipped
    names = ", ".join(f.stem for f in list_recipes()) or "none"
    raise FileNotFoundError(f"recipe {str(path)!r} not found (a YAML path, or a shipped recipe: {names})")


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Read a YAML recipe (a path, or a shipped recipe's name, see :func:`find_recipe`) and validate it."""
    p = find_recipe(path)
    data = read_yaml(p) or {}
    try:
        return recipe_from_dict(data, overrides)
    except ValueError as exc:
        raise UserError(f"{p}: {exc}") from None


def read_yaml(path: Path) -> Any:
    """A YAML file's content; a syntax error or a binary file is one line naming the place."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise UserError(f"{where}: invalid YAML ({what}); fix the syntax there") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text file: give a YAML recipe") from None


def _deep_copy(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in d.items()}


def _check_algorithm(recipe: Recipe) -> None:
    # Import (not instantiate on a model) the algorithm now, so a typo fails before any model loads.
    from .algorithms import recipe_algorithm

    recipe_algorithm(recipe)
