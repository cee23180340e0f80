"""Is the Hugging Face Hub reachable? One quick TCP connect, asked before anything would download.

Without it, an HF id on an offline machine (or a mistyped local folder name, which reads as an HF
id) sits through huggingface_hub's retries for up to a minute, printing a retry line each time,
and ends in a message that does not name the input. The probe takes at most ``timeout_s`` and is
skipped (reachable assumed) when a proxy is configured, since a direct connect says nothing then.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import sys
from collections.abc import Iterator
from urllib.parse import urlparse

_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """False when ``HF_HUB_OFFLINE`` is set or the Hub endpoint refuses or times out a connection."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return True
    url = urlparse(hub_endpoint())
    if not url.hostname:
        return True  # an endpoint we cannot parse: let the library decide
    return _connects(url.hostname, url.port or (443 if url.scheme == "https" else 80), timeout_s)


@functools.lru_cache(maxsize=8)
def _connects(host: str, port: int, timeout_s: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:  # DNS failure, refused, unreachable network, timeout
        return False


@contextlib.contextmanager
def offline_unless_reachable() -> Iterator[None]:
    """Run the body in HF offline mode when the Hub is unreachable, so cached models and datasets load
    at once and missing ones fail at once, instead of after a minute of retries."""
    if hub_reachable():
        yield
        return
    from huggingface_hub import constants

    flags = [(constants, "HF_HUB_OFFLINE")]
    if "datasets" in sys.modules:
        flags.append((sys.modules["datasets"].config, "HF_HUB_OFFLINE"))
    saved = [getattr(obj, name) for obj, name in flags]
    for obj, name in flags:
        setattr(obj, name, True)
    try:
        yield
    finally:
        for (obj, name), value in zip(flags, saved, strict=True):
            setattr(obj, name, value)
