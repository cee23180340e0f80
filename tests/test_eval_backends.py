"""Eval backends (adapters over the engines): the transformers engine against HF generate, stop
handling, sampling seeds; the OpenAI-compatible engine against a real local HTTP server; vLLM's
missing-library error."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pretrainzero.engines.openai import EndpointError
from pretrainzero.eval.backends import (
    BackendConfig,
    BackendUnavailable,
    GenParams,
    LocalBackend,
    OpenAIBackend,
    make_backend,
)

CHAT = [{"role": "user", "content": "What is the capital of France?"}]
PROMPTS = [CHAT, "Paris is the capital", [{"role": "system", "content": "Be brief."}, *CHAT], "a b c d e f g h i j k l"]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> LocalBackend:
    return make_backend(BackendConfig(name="transformers", model=str(tiny_model_dir), batch_size=3, device="cpu"))


def test_greedy_matches_hf_generate(tiny: LocalBackend) -> None:
    """Length sorting, left padding and row pruning must not change greedy outputs."""
    import torch

    gens = tiny.generate(PROMPTS, GenParams(max_new_tokens=12), [0] * len(PROMPTS))
    for prompt, g in zip(PROMPTS, gens, strict=True):
        ids = tiny._engine_prompts([prompt])[0]
        assert len(ids) == tiny.count_tokens(prompt)
        out = tiny.engine.model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                  max_new_tokens=12, do_sample=False, pad_token_id=tiny.tok.pad_token_id)
        new = out[0, len(ids):].tolist()
        eos = set(tiny.eos_ids)
        cut = next((i for i, t in enumerate(new) if t in eos), len(new))
        assert g.text == tiny.tok.decode(new[:cut], skip_special_tokens=True)
        assert g.n_tokens == cut
        assert g.finish_reason == ("stop" if cut < 12 else "length")


def test_batch_size_does_not_change_outputs(tiny: LocalBackend) -> None:
    from pretrainzero.engines.hf import TransformersEngine

    one = LocalBackend("transformers", TransformersEngine(tiny.engine.model, tiny.tok, batch_size=1))
    params = GenParams(max_new_tokens=10)
    assert [g.text for g in one.generate(PROMPTS, params, [0] * 4)] == [
        g.text for g in tiny.generate(PROMPTS, params, [0] * 4)]


def test_stop_string_cuts_text_and_marks_stop(tiny: LocalBackend) -> None:
    free = tiny.generate(["a b c"], GenParams(max_new_tokens=16), [0])[0]
    assert len(free.text) >= 4, "tiny model should generate some text"
    stop = free.text[2:4]
    cut = tiny.generate(["a b c"], GenParams(max_new_tokens=16, stop=(stop,)), [0])[0]
    assert cut.finish_reason == "stop"
    assert stop not in cut.text
    assert free.text.startswith(cut.text)


def test_sampling_is_seeded(tiny: LocalBackend) -> None:
    params = GenParams(temperature=1.0, top_p=0.9, max_new_tokens=8)
    a = tiny.generate(PROMPTS, params, [1, 2, 3, 4])
    b = tiny.generate(PROMPTS, params, [1, 2, 3, 4])
    c = tiny.generate(PROMPTS, params, [5, 6, 7, 8])
    assert [g.text for g in a] == [g.text for g in b]
    assert [g.text for g in a] != [g.text for g in c]


def test_vllm_missing_gives_install_hint() -> None:
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed")
    except ImportError:
        pass
    with pytest.raises(BackendUnavailable, match="pip install vllm"):
        make_backend(BackendConfig(name="vllm", model="x"))


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend(BackendConfig(name="nope"))


# --------------------------------------------------------------------------- OpenAI-compatible


class _Server:
    """A real HTTP server on 127.0.0.1 serving canned /v1/chat/completions and /v1/completions."""

    def __init__(self, fail_first: int = 0, delay: float = 0.0) -> None:
        self.requests: list[tuple[str, dict, str | None]] = []
        self.fail_left = fail_first
        self.delay = delay
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.requests.append((self.path, body, self.headers.get("Authorization")))
                    outer.active += 1
                    outer.max_active = max(outer.max_active, outer.active)
                    fail = outer.fail_left > 0
                    outer.fail_left -= fail
                time.sleep(outer.delay)
                with outer.lock:
                    outer.active -= 1
                if fail:
                    self.send_response(503)
                    self.end_headers()
                    self.wfile.write(b"busy")
                    return
                if self.path == "/v1/chat/completions":
                    text = "chat:" + body["messages"][-1]["content"] + " STOP tail"
                    choice = {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                elif self.path == "/v1/completions":
                    prompt = body["prompt"]  # text, or token ids (the completions API takes both)
                    choice = {"text": "completion:" + (prompt if isinstance(prompt, str) else json.dumps(prompt)),
                              "finish_reason": "length"}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps({"choices": [choice], "usage": {"completion_tokens": 7}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_openai_routes_stop_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    srv = _Server()
    monkeypatch.setenv("PZ_TEST_KEY", "sekret")
    try:
        be = OpenAIBackend(BackendConfig(name="openai", model="m", base_url=srv.url, api_key_env="PZ_TEST_KEY"))
        gens = be.generate([CHAT, "raw prompt"], GenParams(max_new_tokens=5, stop=(" STOP",)), [1, 2])
    finally:
        srv.close()
    assert gens[0].text == "chat:What is the capital of France?" and gens[0].finish_reason == "stop"
    assert gens[1].text == "completion:raw prompt" and gens[1].finish_reason == "length"
    assert gens[0].n_tokens == 7
    paths = sorted(p for p, _, _ in srv.requests)
    assert paths == ["/v1/chat/completions", "/v1/completions"]
    assert all(auth == "Bearer sekret" for _, _, auth in srv.requests)
    body = next(b for p, b, _ in srv.requests if p == "/v1/completions")
    assert body["max_tokens"] == 5 and body["model"] == "m" and body["seed"] == 2


def test_openai_engine_sends_token_ids_to_completions_not_chat() -> None:
    from pretrainzero.engines import SamplingParams
    from pretrainzero.engines.openai import OpenAIEngine

    srv = _Server()
    try:
        [[c]] = OpenAIEngine(srv.url, "m", route="auto").generate([[5, 6, 7]], 1, SamplingParams(max_new_tokens=3))
    finally:
        srv.close()
    assert c.text == "completion:[5, 6, 7]"
    assert [(p, b["prompt"]) for p, b, _ in srv.requests] == [("/v1/completions", [5, 6, 7])]


def test_openai_retries_then_succeeds_and_bounds_concurrency() -> None:
    srv = _Server(fail_first=2, delay=0.05)
    try:
        be = OpenAIBackend(BackendConfig(name="openai", model="m", base_url=srv.url, concurrency=2, max_retries=4))
        gens = be.generate([f"p{i}" for i in range(6)], GenParams(max_new_tokens=3), list(range(6)))
    finally:
        srv.close()
    assert [g.text for g in gens] == [f"completion:p{i}" for i in range(6)]
    assert len(srv.requests) == 8  # 6 answers + 2 retried 503s
    assert srv.max_active <= 2


def test_openai_gives_up_after_retries() -> None:
    srv = _Server(fail_first=100)
    try:
        be = OpenAIBackend(BackendConfig(name="openai", model="m", base_url=srv.url, max_retries=1))
        with pytest.raises(RuntimeError, match="HTTP 503"):
            be.generate(["p"], GenParams(), [0])
    finally:
        srv.close()


def test_openai_needs_base_url() -> None:
    with pytest.raises(ValueError, match="--base-url"):
        OpenAIBackend(BackendConfig(name="openai", model="m"))


class _Replies:
    """A 127.0.0.1 server answering POSTs from a script of (status, headers, body, delay_s) replies;
    after the script it repeats the last reply. Stops itself in close()."""

    def __init__(self, script: list[tuple[int, dict, bytes, float]]) -> None:
        self.script = list(script)
        self.times: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.times.append(time.monotonic())
                status, headers, body, delay = outer.script.pop(0) if len(outer.script) > 1 else outer.script[0]
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _ok(content: object) -> tuple[int, dict, bytes, float]:
    body = {"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode(), 0.0


def _openai(url: str, **kw: object) -> OpenAIBackend:
    return OpenAIBackend(BackendConfig(name="openai", model="m", base_url=url, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        (_ok(None), "message.content: None"),  # content: null is not an empty answer
        ((200, {}, b"<html>proxy error</html>", 0.0), "body is not JSON"),
        ((200, {}, b'{"choices": []}', 0.0), "no choices"),
        ((200, {}, b'{"object": "error"}', 0.0), "no choices"),
        ((503, {}, b"overloaded", 0.0), "HTTP 503: overloaded"),
    ],
)
def test_openai_broken_replies_are_retried_then_fail_in_one_line(reply, needle) -> None:
    srv = _Replies([reply])
    try:
        with pytest.raises(EndpointError) as info:
            _openai(srv.url, max_retries=1).generate([CHAT], GenParams(), [0])
    finally:
        srv.close()
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{srv.url}/chat/completions: ") and needle in msg
    assert "2 attempts" in msg and len(srv.times) == 2


def test_openai_null_content_then_answer_is_not_cached_empty() -> None:
    srv = _Replies([_ok(None), _ok("the answer")])
    try:
        [gen] = _openai(srv.url, max_retries=2).generate([CHAT], GenParams(), [0])
    finally:
        srv.close()
    assert gen.text == "the answer" and len(srv.times) == 2


def test_openai_401_fails_at_once_naming_the_key_variable() -> None:
    srv = _Replies([(401, {}, b'{"error": "bad key"}', 0.0)])
    try:
        with pytest.raises(EndpointError, match=r"HTTP 401.*PZ_NO_SUCH_KEY") as info:
            _openai(srv.url, max_retries=5, api_key_env="PZ_NO_SUCH_KEY").generate([CHAT], GenParams(), [0])
    finally:
        srv.close()
    assert len(srv.times) == 1 and "\n" not in str(info.value)


def test_openai_honours_retry_after() -> None:
    srv = _Replies([(429, {"Retry-After": "1"}, b"slow down", 0.0), _ok("fine")])
    try:
        [gen] = _openai(srv.url, max_retries=1).generate([CHAT], GenParams(), [0])
    finally:
        srv.close()
    assert gen.text == "fine" and srv.times[1] - srv.times[0] >= 0.95


def test_openai_refused_connection_and_silent_server_fail_fast() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(EndpointError, match=rf"127.0.0.1:{port}/v1/chat/completions: connection failed"):
        _openai(f"http://127.0.0.1:{port}/v1", max_retries=0).generate([CHAT], GenParams(), [0])
    srv = _Replies([(200, {}, b"{}", 5.0)])  # answers only after 5 s
    try:
        with pytest.raises(EndpointError, match=r"no answer within 0.3 s .*gave up after 2 attempts"):
            _openai(srv.url, max_retries=1, timeout_s=0.3).generate([CHAT], GenParams(), [0])
    finally:
        srv.close()
    assert time.monotonic() - start < 10


def test_cli_endpoint_failure_is_one_line(tmp_path, capsys) -> None:
    from pretrainzero.cli import main

    srv = _Replies([(500, {}, b"boom", 0.0)])
    try:
        rc = main(["eval", "--model", "m", "--benchmarks", "gsm8k", "--protocol", "pz-0shot-boxed", "--limit", "1",
                   "--backend", "openai", "--base-url", srv.url, "--max-retries", "0", "--timeout", "5",
                   "--out", str(tmp_path / "out"), "--no-progress"])
    finally:
        srv.close()
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert rc == 2 and len(err) == 1 and "HTTP 500: boom" in err[0] and srv.url in err[0]
    assert not list((tmp_path / "out").glob("*.json"))
    cache = list((tmp_path / "out" / "cache").glob("*.jsonl")) if (tmp_path / "out" / "cache").exists() else []
    assert all(not p.read_text().strip() for p in cache)  # nothing cached for a failed reply
