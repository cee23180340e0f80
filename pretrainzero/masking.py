"""Span selection and the paper's mask-validity rule (pure functions, no torch).

Two kinds of target come out of this module, both as :class:`MaskedExample`:

* ``kind="span"``: a span of the paragraph is hidden; every occurrence (default rule) or one
  occurrence (OneMask) is replaced by ``[mask]``; the predictor must write the span.
* ``kind="next"``: the paragraph is truncated; the predictor must write what comes next
  (RPT-style next-token reasoning).

Maskers are small frozen dataclasses called as ``masker(text, rng) -> MaskedExample | None``
(None when the paragraph offers no valid target). They are the paper's baselines:
:class:`RandomSpanMasker` (Random RLPT), :class:`NextTokenMasker` (Random NTP / RPT),
:class:`EntropyNextTokenMasker` (Entropy NTP, top-20% entropy) and :class:`WholeWordMasker`.
The learned mask generator of PretrainZero goes through :func:`apply_mask` with the span the
model wrote. :data:`MASKERS` / :func:`make_masker` is the one registry of maskers by name
(``random-span``, ``whole-word``, ``next-token``, ``entropy-next-token``), used by env kwargs,
recipes, SFT and held-out evaluation alike.
"""

from __future__ import annotations

import functools
import math
import re
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

MASK_TOKEN = "[mask]"
MAX_OCCURRENCES = 8  # the paper keeps spans occurring fewer than 8 times

MaskRule = Literal["default", "onemask", "words"]
MASK_RULES: tuple[str, ...] = ("default", "onemask", "words")


class MaskRng(Protocol):
    """What maskers draw from: a ``numpy.random.Generator`` or the cheaper per-episode ``EpisodeRng``."""

    def integers(self, low: int, high: int | None = None) -> Any: ...

    def geometric(self, p: float) -> Any: ...


# A word: letters/digits with inner hyphens or apostrophes ("state-of-the-art", "don't").
WORD_RE = re.compile(r"\w+(?:[-'’]\w+)*")


@dataclass(frozen=True, slots=True)
class MaskedExample:
    """A prediction target cut from one paragraph."""

    kind: Literal["span", "next"]
    context: str  # masked paragraph (span) or the truncated prefix (next)
    answer: str  # the hidden text the predictor must reproduce
    start: int  # character offset of the (first replaced) occurrence in the paragraph
    occurrences: int = 1  # how many occurrences were replaced by [mask]


@dataclass(frozen=True, slots=True)
class InvalidMask:
    """Why a proposed span was rejected (generator reward 0, no prediction rollouts)."""

    reason: Literal["no_mask", "empty", "not_found", "too_frequent", "not_whole_words", "contains_mask_token"]
    span: str | None = None


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _occurrences(text: str, span: str) -> list[int]:
    """Start offsets of non-overlapping occurrences of ``span`` (what str.replace replaces)."""
    out, i = [], text.find(span)
    while i >= 0:
        out.append(i)
        i = text.find(span, i + len(span))
    return out


def _whole_word_at(text: str, start: int, end: int) -> bool:
    left_ok = start == 0 or not _is_word_char(text[start - 1]) or not _is_word_char(text[start])
    right_ok = end == len(text) or not _is_word_char(text[end]) or not _is_word_char(text[end - 1])
    return left_ok and right_ok


def apply_mask(
    paragraph: str,
    span: str | None,
    *,
    rule: MaskRule = "default",
    max_occurrences: int = MAX_OCCURRENCES,
    rng: MaskRng | None = None,
) -> MaskedExample | InvalidMask:
    """Validate a proposed span with the paper's rule and build the masked paragraph.

    The span (surrounding whitespace stripped) must be non-empty, occur verbatim in the
    paragraph and occur fewer than ``max_occurrences`` times. Rules:

    * ``default``: replace every occurrence by ``[mask]`` (sub-word spans allowed);
    * ``onemask``: replace one occurrence chosen with ``rng`` (the first when ``rng`` is None);
    * ``words``: like default, but every occurrence must start and end on word boundaries.
    """
    if rule not in MASK_RULES:
        raise ValueError(f"unknown mask rule {rule!r}; choose one of {MASK_RULES}")
    if span is None:
        return InvalidMask("no_mask")
    span = span.strip()
    if not span:
        return InvalidMask("empty", span)
    if MASK_TOKEN in span:
        return InvalidMask("contains_mask_token", span)
    starts = _occurrences(paragraph, span)
    if not starts:
        return InvalidMask("not_found", span)
    if len(starts) >= max_occurrences:
        return InvalidMask("too_frequent", span)
    if rule == "words" and not all(_whole_word_at(paragraph, s, s + len(span)) for s in starts):
        return InvalidMask("not_whole_words", span)
    if rule == "onemask":
        k = int(rng.integers(len(starts))) if rng is not None else 0
        s = starts[k]
        return MaskedExample("span", paragraph[:s] + MASK_TOKEN + paragraph[s + len(span) :], span, s, 1)
    return MaskedExample("span", paragraph.replace(span, MASK_TOKEN), span, starts[0], len(starts))


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of the words in ``text``."""
    return [m.span() for m in WORD_RE.finditer(text)]


@functools.lru_cache(maxsize=16384)
def _word_bounds(text: str) -> tuple[array, array]:
    """Word start and end offsets of ``text`` as compact arrays, memoised.

    The word regex dominates a masking call (~50 us for a 600-character paragraph), and envs
    mask the same paragraphs again and again; int64 arrays keep 16384 cached paragraphs small
    (~20 MB for Wikipedia lead sections).
    """
    spans = [m.span() for m in WORD_RE.finditer(text)]
    return array("q", [s for s, _ in spans]), array("q", [e for _, e in spans])


SpanLength = Literal["uniform", "geometric", "fixed"]


@dataclass(frozen=True)
class RandomSpanMasker:
    """Random RLPT: mask a random span of consecutive words.

    Span length in words is drawn from ``length``: ``uniform`` on [min_words, max_words],
    ``geometric`` with parameter ``p`` clipped to that range (SpanBERT uses p=0.2, max 10),
    or ``fixed`` = ``min_words``. Spans that fail the validity rule are redrawn up to
    ``max_tries`` times.
    """

    min_words: int = 1
    max_words: int = 5
    length: SpanLength = "uniform"
    p: float = 0.2
    rule: MaskRule = "default"
    max_tries: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.min_words <= self.max_words:
            raise ValueError(f"need 1 <= min_words <= max_words, got {self.min_words}, {self.max_words}")
        if self.length not in ("uniform", "geometric", "fixed"):
            raise ValueError(f"length must be uniform, geometric or fixed, got {self.length!r}")
        if not 0 < self.p <= 1:
            raise ValueError(f"p must be in (0, 1], got {self.p}")

    def _draw_length(self, rng: MaskRng) -> int:
        if self.length == "fixed":
            return self.min_words
        if self.length == "geometric":
            return int(min(max(rng.geometric(self.p), self.min_words), self.max_words))
        return int(rng.integers(self.min_words, self.max_words + 1))

    def __call__(self, text: str, rng: MaskRng) -> MaskedExample | None:
        starts, ends = _word_bounds(text)
        if not starts:
            return None
        for _ in range(self.max_tries):
            n = min(self._draw_length(rng), len(starts))
            i = int(rng.integers(0, len(starts) - n + 1))
            span = text[starts[i] : ends[i + n - 1]]
            out = apply_mask(text, span, rule=self.rule, rng=rng)
            if isinstance(out, MaskedExample):
                return out
        return None


@dataclass(frozen=True)
class WholeWordMasker:
    """Mask one whole word, optionally only words that recur (easier, clue-rich targets).

    ``min_chars`` skips short function words; ``min_occurrences=2`` picks words that appear at
    least twice, which is the "easy mask" cold-start curriculum for tiny models.
    """

    min_chars: int = 4
    min_occurrences: int = 1
    rule: MaskRule = "words"

    def __call__(self, text: str, rng: MaskRng) -> MaskedExample | None:
        counts: dict[str, int] = {}
        for s, e in word_spans(text):
            w = text[s:e]
            if len(w) >= self.min_chars:
                counts[w] = counts.get(w, 0) + 1
        pool = sorted(w for w, c in counts.items() if self.min_occurrences <= c < MAX_OCCURRENCES)
        if not pool:
            return None
        out = apply_mask(text, pool[int(rng.integers(len(pool)))], rule=self.rule, rng=rng)
        return out if isinstance(out, MaskedExample) else None


@dataclass(frozen=True)
class NextTokenMasker:
    """Random NTP / RPT: truncate at a random word boundary; the next word is the target.

    ``min_context_words`` keeps enough context to reason from. The word-level unit keeps this
    tokenizer-free; :class:`EntropyNextTokenMasker` works on any scorer's token spans.
    """

    min_context_words: int = 8

    def __call__(self, text: str, rng: MaskRng) -> MaskedExample | None:
        starts, ends = _word_bounds(text)
        if len(starts) <= self.min_context_words:
            return None
        i = int(rng.integers(self.min_context_words, len(starts)))
        s, e = starts[i], ends[i]
        return MaskedExample("next", text[:s], text[s:e], s)


# (start, end, entropy) for each scored token of a text
TokenScorer = Callable[[str], Sequence[tuple[int, int, float]]]


@dataclass(frozen=True)
class EntropyNextTokenMasker:
    """Entropy NTP (RPT-like): pick a random token among the top ``top_fraction`` by entropy.

    ``scorer(text)`` returns ``(start, end, entropy)`` per token (e.g. a small LM's predictive
    entropy at each position). The context is everything before the chosen token.
    """

    scorer: TokenScorer
    top_fraction: float = 0.2
    min_context_chars: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.top_fraction <= 1:
            raise ValueError(f"top_fraction must be in (0, 1], got {self.top_fraction}")

    def __call__(self, text: str, rng: MaskRng) -> MaskedExample | None:
        scored = [
            (s, e, h)
            for s, e, h in self.scorer(text)
            if s >= self.min_context_chars and text[s:e].strip() and math.isfinite(h)
        ]
        if not scored:
            return None
        k = max(1, math.ceil(len(scored) * self.top_fraction))
        top = sorted(scored, key=lambda t: (-t[2], t[0]))[:k]
        s, e, _ = top[int(rng.integers(len(top)))]
        # a leading space belongs to the context, so the answer is the bare token text
        while s < e and text[s].isspace():
            s += 1
        return MaskedExample("next", text[:s], text[s:e], s)


# --------------------------------------------------------------------------- the one masker registry

Masker = Callable[[str, MaskRng], "MaskedExample | None"]

MASKERS: dict[str, Callable[..., Masker]] = {
    "random-span": RandomSpanMasker,  # the paper's Random RLPT baseline
    "whole-word": WholeWordMasker,
    "next-token": NextTokenMasker,  # Random NTP / RPT
    "entropy-next-token": EntropyNextTokenMasker,  # Entropy NTP; needs scorer=callable (Python only)
}


def make_masker(masker: str | Masker = "random-span", kwargs: Mapping[str, Any] | None = None) -> Masker:
    """A masker by name (env kwargs, recipes) with constructor ``kwargs``, or a masker object as is.

    Names are spelled with hyphens everywhere (``whole-word``); the underscore spelling of older
    versions fails with the right name in the message.
    """
    if callable(masker):
        if kwargs:
            raise ValueError("masker_kwargs only apply when the masker is given by name")
        return masker
    factory = MASKERS.get(masker) if isinstance(masker, str) else None
    if factory is None:
        fixed = str(masker).replace("_", "-")
        hint = f"; maskers are spelled with hyphens: {fixed!r}" if fixed in MASKERS else ""
        raise ValueError(f"unknown masker {masker!r}{hint}; choose one of {', '.join(MASKERS)}")
    try:
        return factory(**dict(kwargs or {}))
    except TypeError as exc:
        raise ValueError(f"bad arguments for masker {masker!r}: {exc}") from None
