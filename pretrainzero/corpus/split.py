"""Cut document text into paragraphs (pure functions).

A document is split on line breaks (each non-blank line is a paragraph, as in Wikipedia lead
sections and most dumps). A paragraph longer than ``max_chars`` is split into balanced chunks at
sentence boundaries, falling back to whitespace and then to a hard cut for a run with no
space (e.g. a base64 blob), so long text is kept rather than dropped. Filtering by
``min_chars`` and de-duplication happen later, so a piece's position is stable whatever the
filters: it is the second part of the paragraph id.
"""

from __future__ import annotations

import math
import re

# A sentence ends with . ! ? (or CJK/ellipsis forms), optional closing quotes/brackets, then space.
_SENTENCE_END_RE = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*(\s+)")


def split_document(text: str, max_chars: int) -> tuple[list[str], int]:
    """Return ``(pieces, n_long)``: stripped non-blank lines, long ones split; n_long counts splits."""
    pieces: list[str] = []
    n_long = 0
    for line in text.splitlines():  # \n, \r\n, \r and Unicode line/paragraph separators
        line = line.strip()
        if not line:
            continue
        if len(line) <= max_chars:
            pieces.append(line)
        else:
            n_long += 1
            pieces.extend(split_long(line, max_chars))
    return pieces, n_long


def split_long(text: str, max_chars: int) -> list[str]:
    """Split ``text`` into about-equal chunks of at most ``max_chars`` at sentence boundaries."""
    if len(text) <= max_chars:
        return [text]
    target = math.ceil(len(text) / math.ceil(len(text) / max_chars))  # balanced: no tiny tail
    units = _units(text, max_chars)
    chunks: list[str] = []
    current = ""
    for unit in units:
        joined = f"{current} {unit}" if current else unit
        if current and (len(joined) > max_chars or len(current) >= target):
            chunks.append(current)
            current = unit
        else:
            current = joined
    if current:
        chunks.append(current)
    return chunks


def _sentences(text: str) -> list[str]:
    out, start = [], 0
    for match in _SENTENCE_END_RE.finditer(text):
        out.append(text[start : match.start(1)])
        start = match.end(1)
    out.append(text[start:])
    return out


def _units(text: str, max_chars: int) -> list[str]:
    """Sentences, with any sentence over ``max_chars`` cut at spaces, then hard-cut."""
    out: list[str] = []
    for sentence in _sentences(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            out.append(sentence)
            continue
        word_chunk = ""
        for word in sentence.split():
            while len(word) > max_chars:  # no space to cut at: hard cut
                if word_chunk:
                    out.append(word_chunk)
                    word_chunk = ""
                out.append(word[:max_chars])
                word = word[max_chars:]
            joined = f"{word_chunk} {word}" if word_chunk else word
            if len(joined) > max_chars:
                out.append(word_chunk)
                word_chunk = word
            else:
                word_chunk = joined
        if word_chunk:
            out.append(word_chunk)
    return out
