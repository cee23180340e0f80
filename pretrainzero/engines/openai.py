"""The OpenAI-compatible engine: any endpoint speaking ``/v1/completions`` or ``/v1/chat/completions``
(vLLM serve, SGLang, llama.cpp, hosted APIs), over the standard library's HTTP client.

One request per sample, in a thread pool bounded by ``concurrency``; 429/5xx/connection errors
are retried with exponential backoff plus jitter. The API key is read from the environment
variable named by ``api_key_env`` (never from the command line, so it does not land in shell
history or records). A prompt is text (completions route) or a list of chat messages (chat
route; the server renders them); ``route="auto"`` picks by the prompt's form.

Against the engine rules: the server cuts stop strings out of the text itself (the API has no
switch to keep them), and at most 4 are sent; further ones are applied here, where the text
is cut right after the stop string as the rules say. No token ids or log-probabilities come
back; ``n_tokens`` is the server's ``usage.completion_tokens``. Sample ``k`` of a prompt is
sent with seed :func:`~pretrainzero.engines.base.sample_seed` ``(seeds[i], k)``.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .base import Completion, Prompt, SamplingParams, cut_at_stop, request_seeds, sample_seed

ROUTES: tuple[str, ...] = ("auto", "chat", "completions")


def _is_chat(prompt: Prompt) -> bool:
    return not isinstance(prompt, str)


class OpenAIEngine:
    """:class:`~pretrainzero.engines.Engine` over an OpenAI-compatible HTTP endpoint."""

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "OPENAI_API_KEY", route: str = "auto",
                 concurrency: int = 8, max_retries: int = 5, timeout_s: float = 600.0) -> None:
        if not base_url:
            raise ValueError("the OpenAI-compatible engine needs a base URL (e.g. http://127.0.0.1:8000/v1)")
        if route not in ROUTES:
            raise ValueError(f"route must be auto, chat or completions, got {route!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = os.environ.get(api_key_env, "")
        self.route = route
        self.concurrency = max(1, concurrency)
        self.max_retries = max(0, max_retries)
        self.timeout_s = timeout_s
        self.requests = 0  # HTTP requests sent, retries included
        self._lock = threading.Lock()

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

    def _one(self, prompt: Prompt, params: SamplingParams, seed: int) -> Completion:
        body: dict[str, Any] = {"model": self.model, "temperature": params.temperature, "top_p": params.top_p,
                                "max_tokens": params.max_new_tokens, "seed": int(seed), "n": 1}
        if params.stop:
            body["stop"] = list(params.stop)[:4]  # the OpenAI API accepts at most 4 stop strings
        use_chat = self.route == "chat" or (self.route == "auto" and _is_chat(prompt))
        if use_chat:
            msgs = [dict(m) for m in prompt] if _is_chat(prompt) else [{"role": "user", "content": prompt}]  # type: ignore[arg-type, union-attr]
            out = self._post("/chat/completions", {**body, "messages": msgs})
            choice = out["choices"][0]
            text = (choice.get("message") or {}).get("content") or ""
        else:
            if _is_chat(prompt):
                raise ValueError("route 'completions' cannot send chat messages; use --route chat or auto")
            out = self._post("/completions", {**body, "prompt": prompt})
            choice = out["choices"][0]
            text = choice.get("text") or ""
        reason = "length" if choice.get("finish_reason") == "length" else "stop"
        if params.stop:
            text, hit = cut_at_stop(text, params.stop)
            reason = "stop" if hit else reason
        usage = out.get("usage") or {}
        return Completion(text, [], [], reason, [], n_tokens=int(usage.get("completion_tokens") or 0))

    def generate(self, prompts: Sequence[Prompt], n: int, params: SamplingParams,
                 seeds: Sequence[int] | None = None, *,
                 progress: Callable[[int], None] | None = None) -> list[list[Completion]]:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if not prompts:
            return []
        seeds_ = request_seeds(seeds, len(prompts))

        def task(j: int) -> Completion:
            i, k = divmod(j, n)
            c = self._one(prompts[i], params, sample_seed(seeds_[i], k))
            if progress is not None:
                progress(1)
            return c

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            flat = list(pool.map(task, range(len(prompts) * n)))
        return [flat[i * n:(i + 1) * n] for i in range(len(prompts))]
