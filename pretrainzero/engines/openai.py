"""The OpenAI-compatible engine: any endpoint speaking ``/v1/completions`` or ``/v1/chat/completions``
(vLLM serve, SGLang, llama.cpp, hosted APIs), over ``httpx``.

One request per sample, in a thread pool bounded by ``concurrency``. A request gets ``timeout_s``
per attempt and up to ``max_retries`` retries, with exponential backoff plus jitter, for what can
pass: 429 and 5xx (``Retry-After`` honoured, capped at 120 s), refused or dropped connections,
timeouts, and a 200 reply without an answer (non-JSON body, no ``choices``, ``content: null``).
401/403/404 and other 4xx fail at once. Every failure is one :class:`EndpointError` line naming
the URL, the status and what came back; a failed or empty-because-broken reply is never returned,
so it can never be cached as an answer. The API key is read from the environment variable named
by ``api_key_env`` (never from the command line). ``route="auto"`` picks chat or completions by
the prompt's form.

Against the engine rules: the server cuts stop strings out of the text itself (the API has no
switch to keep them), and at most 4 are sent; further ones are applied here, where the text
is cut right after the stop string as the rules say. No token ids or log-probabilities come
back; ``n_tokens`` is the server's ``usage.completion_tokens``. Sample ``k`` of a prompt is
sent with seed :func:`~pretrainzero.engines.base.sample_seed` ``(seeds[i], k)``.
"""

from __future__ import annotations

import email.utils
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeGuard

from ..errors import SetupError
from .base import (
    Completion,
    FinishReason,
    Message,
    Prompt,
    SamplingParams,
    cut_at_stop,
    is_empty_request,
    request_seeds,
    sample_seed,
)

ROUTES: tuple[str, ...] = ("auto", "chat", "completions")
MAX_RETRY_AFTER_S = 120.0


class EndpointError(SetupError):
    """The endpoint did not give a usable answer; the message is one line naming URL and status."""


class _Retryable(Exception):
    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


def _is_chat(prompt: Prompt) -> TypeGuard[Sequence[Message]]:
    """Chat messages (role/content mappings), not text or token ids."""
    return not isinstance(prompt, str) and all(isinstance(m, Mapping) for m in prompt)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), capped; None if absent."""
    if not value:
        return None
    try:
        wait = float(value)
    except ValueError:
        try:
            wait = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(wait, 0.0), MAX_RETRY_AFTER_S)


def _short(text: str, n: int = 160) -> str:
    return " ".join(text.split())[:n]


class OpenAIEngine:
    """:class:`~pretrainzero.engines.Engine` over an OpenAI-compatible HTTP endpoint."""

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "OPENAI_API_KEY", route: str = "auto",
                 concurrency: int = 8, max_retries: int = 5, timeout_s: float = 600.0) -> None:
        if not base_url:
            raise ValueError("the OpenAI-compatible engine needs a base URL (e.g. http://127.0.0.1:8000/v1)")
        if route not in ROUTES:
            raise ValueError(f"route must be auto, chat or completions, got {route!r}")
        if not timeout_s > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout_s!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.api_key = os.environ.get(api_key_env, "")
        self.route = route
        self.concurrency = max(1, concurrency)
        self.max_retries = max(0, max_retries)
        self.timeout_s = float(timeout_s)
        self.requests = 0  # HTTP requests sent, retries included
        self._lock = threading.Lock()

    def _attempt(self, client: Any, url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        import httpx

        try:
            resp = client.post(url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"no answer within {self.timeout_s:g} s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed: {_short(str(exc)) or type(exc).__name__}") from exc
        status = resp.status_code
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}: {_short(resp.text)}", _retry_after(resp.headers.get("Retry-After")))
        if status in (401, 403):
            raise EndpointError(f"{url}: HTTP {status}: {_short(resp.text)} (check the API key in "
                                f"${self.api_key_env}{'' if self.api_key else ', which is not set'})")
        if status != 200:
            raise EndpointError(f"{url}: HTTP {status}: {_short(resp.text)}")
        try:
            out = resp.json()
        except ValueError as exc:
            raise _Retryable(f"HTTP 200 but the body is not JSON: {_short(resp.text)!r}") from exc
        choices = out.get("choices") if isinstance(out, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise _Retryable(f"HTTP 200 but no choices in the reply: {_short(resp.text)!r}")
        return out

    def _post(self, path: str, body: dict[str, Any],
              answer: Callable[[dict[str, Any]], Any]) -> tuple[dict[str, Any], Any]:
        """POST with retries; ``answer(reply)`` extracts the answer or raises :class:`_Retryable`."""
        import httpx

        url = self.base_url + path
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        delay, last = 0.5, ""
        with httpx.Client(timeout=self.timeout_s) as client:
            for attempt in range(self.max_retries + 1):
                with self._lock:
                    self.requests += 1
                try:
                    out = self._attempt(client, url, body, headers)
                    return out, answer(out)
                except _Retryable as exc:
                    last = str(exc)
                    if attempt == self.max_retries:
                        break
                    wait = exc.wait_s if exc.wait_s is not None else delay * (1 + random.random())
                    time.sleep(wait)  # jitter spreads retries of concurrent workers
                    delay = min(delay * 2, 30.0)
        raise EndpointError(f"{url}: {last} (gave up after {self.max_retries + 1} attempts; "
                            "--max-retries and --timeout change this)")

    def _one(self, prompt: Prompt, params: SamplingParams, seed: int) -> Completion:
        body: dict[str, Any] = {"model": self.model, "temperature": params.temperature, "top_p": params.top_p,
                                "max_tokens": params.max_new_tokens, "seed": int(seed), "n": 1}
        if params.stop:
            body["stop"] = list(params.stop)[:4]  # the OpenAI API accepts at most 4 stop strings
        if params.min_new_tokens:
            body["min_tokens"] = params.min_new_tokens  # a vLLM-server extension; OpenAI itself has none
        use_chat = self.route == "chat" or (self.route == "auto" and _is_chat(prompt))
        if use_chat:
            msgs = [dict(m) for m in prompt] if _is_chat(prompt) else [{"role": "user", "content": prompt}]

            def chat_text(out: dict[str, Any]) -> str:
                choice = out["choices"][0]
                content = (choice.get("message") or {}).get("content")
                if not isinstance(content, str):  # content: null is no answer, not an empty one
                    raise _Retryable(f"HTTP 200 but the reply has no text (message.content: {content!r}, "
                                     f"finish_reason: {choice.get('finish_reason')!r})")
                return content

            out, text = self._post("/chat/completions", {**body, "messages": msgs}, chat_text)
        else:
            if _is_chat(prompt):
                raise ValueError("route 'completions' cannot send chat messages; use --route chat or auto")

            def completion_text(out: dict[str, Any]) -> str:
                text = out["choices"][0].get("text")
                if not isinstance(text, str):
                    raise _Retryable(f"HTTP 200 but the reply has no text (text: {text!r})")
                return text

            out, text = self._post("/completions", {**body, "prompt": prompt}, completion_text)
        choice = out["choices"][0]
        reason: FinishReason = "length" if choice.get("finish_reason") == "length" else "stop"
        if params.stop:
            text, hit = cut_at_stop(text, params.stop)
            reason = "stop" if hit else reason
        usage = out.get("usage") or {}
        return Completion(text, [], [], reason, [], n_tokens=int(usage.get("completion_tokens") or 0))

    def generate(self, prompts: Sequence[Prompt], n: int, params: SamplingParams,
                 seeds: Sequence[int] | None = None, *,
                 progress: Callable[[int], None] | None = None) -> list[list[Completion]]:
        if is_empty_request(prompts, n):
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
