r"""Answer extraction: the last ``\boxed{...}`` / ``\mask{...}`` with nested braces, ``<think>`` stripping.

All functions are linear in the input length, so megabyte-long or adversarial completions
(unbalanced braces, thousands of ``\boxed{``) are parsed without blow-up.
"""

from __future__ import annotations

import functools
import re


def _remove_think_blocks(text: str) -> str:
    """Drop each ``<think>...</think>`` block (leftmost, shortest), like ``re.sub(r"<think>.*?</think>")``.

    A scan with ``str.find`` instead of that regex: the regex rescans to the end of the text
    from every unclosed ``<think>``, which is quadratic (20 s for 20,000 dangling tags).
    """
    if "<think>" not in text:
        return text
    parts, i = [], 0
    while (j := text.find("<think>", i)) >= 0:
        k = text.find("</think>", j + 7)
        if k < 0:
            break
        parts.append(text[i:j])
        i = k + 8
    parts.append(text[i:])
    return "".join(parts)


@functools.lru_cache(maxsize=16)
def _token_re(opener: str) -> re.Pattern[str]:
    """Structure tokens for one command: its opener, escaped braces, plain braces."""
    return re.compile(re.escape(opener) + r"|\\[{}]|[{}]")


def _last_command_arg(text: str, command: str) -> str | None:
    r"""Content of the last ``\command{...}`` in ``text`` (braces may nest), or None.

    "Last" is the occurrence whose opening comes last, so for ``\boxed{a \boxed{b}}`` the
    answer is ``b``. When that last opening is never closed (a completion cut off while writing
    its answer: ``\boxed{a} ... \boxed{b``), the answer is missing: None, never an earlier
    complete occurrence. This is the Qwen-Math / General-Reasoner rule, which scans from the last
    ``\boxed`` and returns nothing when its braces do not close.
    """
    opener = "\\" + command + "{"
    if opener not in text:
        return None
    token = _token_re(opener)
    stack: list[int] = []  # content start for command braces, -1 for plain braces
    last_start, last_end = -1, -1  # the last command opening and where it closed (-1: open)
    for m in token.finditer(text):
        tok = m.group()
        if tok == opener:
            stack.append(m.end())
            last_start, last_end = m.end(), -1
        elif tok == "{":
            stack.append(-1)
        elif tok == "}":
            if not stack:
                continue  # stray closing brace: ignore
            if stack.pop() == last_start:
                last_end = m.start()
        # escaped braces \{ \} are content, not structure
    if last_end < 0:
        return None
    return text[last_start:last_end]


def last_boxed(text: str) -> str | None:
    r"""Return the content of the last complete ``\boxed{...}``, or None if there is none."""
    return _last_command_arg(text, "boxed")


def last_mask(text: str) -> str | None:
    r"""Return the content of the last complete ``\mask{...}``, or None if there is none."""
    return _last_command_arg(text, "mask")


def strip_think(text: str) -> str:
    """Remove ``<think>...</think>`` blocks.

    Text after a dangling ``</think>`` is kept (chat templates often prefill ``<think>``); an
    unclosed ``<think>`` drops everything after it, since the model never left its reasoning.
    """
    text = _remove_think_blocks(text)
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    if "<think>" in text:
        text = text.split("<think>", 1)[0]
    return text
