"""Held-out split and the resumable paragraph stream. Run: pytest tests/test_rl_data.py"""

from __future__ import annotations

import pytest

from pretrainzero.corpus import register_corpus
from pretrainzero.rl.data import ParagraphStream, heldout_paragraphs, is_heldout

TEXTS = tuple(f"Document number {i} talks about river {i % 7} and city {i % 5}." for i in range(300))


@pytest.fixture(scope="module")
def corpus():
    register_corpus("rl-data-test", source=TEXTS, min_chars=1)
    return "rl-data-test"


def test_is_heldout_deterministic_about_two_percent():
    ids = [f"corpus:{i}" for i in range(20000)]
    flags = [is_heldout(i) for i in ids]
    assert flags == [is_heldout(i) for i in ids]
    assert 0.015 < sum(flags) / len(flags) < 0.025


def test_heldout_paragraphs_first_n_in_corpus_order(corpus):
    from pretrainzero.corpus import get_corpus

    all_held = [p for p in get_corpus(corpus) if is_heldout(p.id)]
    assert len(all_held) >= 2, "fixture corpus too small to hold out anything"
    assert heldout_paragraphs(corpus, 2) == all_held[:2]
    assert heldout_paragraphs(corpus, 10_000) == all_held


def test_stream_excludes_heldout_is_seeded_and_covers_an_epoch(corpus):
    s = ParagraphStream(corpus, seed=3)
    n_train = sum(not is_heldout(p.id) for p in s._corpus)
    epoch = s.take(n_train)
    assert not any(is_heldout(p.id) for p in epoch)
    assert len({p.id for p in epoch}) == n_train  # a permutation: each training paragraph once
    assert [p.id for p in ParagraphStream(corpus, seed=3).take(20)] == [p.id for p in epoch[:20]]
    assert [p.id for p in ParagraphStream(corpus, seed=4).take(20)] != [p.id for p in epoch[:20]]
    nxt = s.take(5)  # next epoch: a different order
    assert [p.id for p in nxt] != [p.id for p in epoch[:5]]


def test_stream_cursor_resumes_exactly(corpus):
    a = ParagraphStream(corpus, seed=1)
    a.take(290)  # crosses into the second epoch
    state = a.state_dict()
    b = ParagraphStream(corpus, seed=1)
    b.load_state_dict(state)
    assert [p.id for p in a.take(30)] == [p.id for p in b.take(30)]
    with pytest.raises(ValueError, match="seed"):
        ParagraphStream(corpus, seed=2).load_state_dict(state)
