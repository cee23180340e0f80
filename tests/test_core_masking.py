"""The paper's mask-validity rule and the baseline maskers. Run: pytest tests/test_core_masking.py"""

import numpy as np
import pytest

from pretrainzero.masking import (
    MASK_TOKEN,
    EntropyNextTokenMasker,
    InvalidMask,
    MaskedExample,
    NextTokenMasker,
    RandomSpanMasker,
    WholeWordMasker,
    apply_mask,
)

TEXT = "Paris is the capital of France. Paris hosts many cats, and a category of museums."


def test_default_rule_replaces_every_occurrence():
    out = apply_mask(TEXT, " Paris ")  # surrounding whitespace is stripped
    assert isinstance(out, MaskedExample)
    assert out.answer == "Paris" and out.occurrences == 2
    assert "Paris" not in out.context and out.context.count(MASK_TOKEN) == 2


def test_default_rule_allows_subword_spans():
    out = apply_mask(TEXT, "cat")
    assert isinstance(out, MaskedExample) and out.occurrences == 2
    assert "[mask]egory" in out.context


def test_words_rule_rejects_subword_occurrences():
    assert apply_mask(TEXT, "cat", rule="words") == InvalidMask("not_whole_words", "cat")
    assert isinstance(apply_mask(TEXT, "France", rule="words"), MaskedExample)


def test_onemask_replaces_one_occurrence_chosen_by_rng():
    seen = set()
    for seed in range(20):
        out = apply_mask(TEXT, "Paris", rule="onemask", rng=np.random.default_rng(seed))
        assert isinstance(out, MaskedExample) and out.occurrences == 1
        assert out.context.count(MASK_TOKEN) == 1 and out.context.count("Paris") == 1
        seen.add(out.start)
    assert seen == {0, TEXT.index("Paris", 1)}


@pytest.mark.parametrize(
    ("span", "reason"),
    [(None, "no_mask"), ("   ", "empty"), ("Berlin", "not_found"), ("a", "too_frequent"),
     ("[mask]", "contains_mask_token")],
)
def test_invalid_masks(span, reason):
    out = apply_mask(TEXT, span)
    assert isinstance(out, InvalidMask) and out.reason == reason


def test_fewer_than_eight_occurrences():
    text = " ".join(["x"] * 7)
    assert isinstance(apply_mask(text, "x"), MaskedExample)
    assert apply_mask(text + " x", "x").reason == "too_frequent"


def test_unknown_rule_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown mask rule"):
        apply_mask(TEXT, "Paris", rule="sometimes")


def test_random_span_masker_is_seeded_and_valid():
    masker = RandomSpanMasker(min_words=1, max_words=3)
    a = [masker(TEXT, np.random.default_rng(s)) for s in range(10)]
    b = [masker(TEXT, np.random.default_rng(s)) for s in range(10)]
    assert a == b
    for ex in a:
        assert ex is not None and 1 <= len(ex.answer.split()) <= 3
        assert ex.answer in TEXT and ex.answer not in ex.context.replace(MASK_TOKEN, "")


def test_random_span_masker_length_distributions():
    rng = np.random.default_rng(0)
    fixed = RandomSpanMasker(min_words=2, max_words=2, length="fixed")
    assert all(len(fixed(TEXT, rng).answer.split()) == 2 for _ in range(10))
    with pytest.raises(ValueError):
        RandomSpanMasker(min_words=3, max_words=2)
    with pytest.raises(ValueError):
        RandomSpanMasker(length="zipf")


def test_whole_word_masker_recurring_words_with_onemask_keeps_a_clue():
    masker = WholeWordMasker(min_chars=4, min_occurrences=2, rule="onemask")
    ex = masker(TEXT, np.random.default_rng(0))
    assert ex is not None and ex.answer == "Paris"
    assert "Paris" in ex.context  # the other occurrence is still visible
    assert WholeWordMasker(min_occurrences=2)("no repeats at all here", np.random.default_rng(0)) is None


def test_next_token_masker_truncates_at_a_word():
    ex = NextTokenMasker(min_context_words=3)(TEXT, np.random.default_rng(1))
    assert ex.kind == "next" and TEXT.startswith(ex.context) and TEXT[len(ex.context) :].startswith(ex.answer)
    assert NextTokenMasker(min_context_words=50)(TEXT, np.random.default_rng(0)) is None


def test_entropy_masker_picks_among_top_fraction():
    def scorer(text):
        # entropy = word length, so the top 20% are the longest words
        import re

        return [(m.start(), m.end(), float(len(m.group()))) for m in re.finditer(r"\S+", text)]

    masker = EntropyNextTokenMasker(scorer, top_fraction=0.2)
    picks = {masker(TEXT, np.random.default_rng(s)).answer for s in range(30)}
    longest = sorted((t for *_, t in [(0, 0, w) for w in TEXT.split()]), key=len, reverse=True)
    assert picks <= set(longest[: max(1, round(len(longest) * 0.2)) + 1])
    with pytest.raises(ValueError):
        EntropyNextTokenMasker(scorer, top_fraction=0)
