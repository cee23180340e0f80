"""The built-in corpora: declared at import, read from the installed package at run time."""

from __future__ import annotations

import pytest

from pretrainzero.corpus import get_corpus, get_spec


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PRETRAINZERO_CACHE", str(tmp_path / "cache"))


def test_wiki_vital_en_is_the_packaged_lead_sections():
    corpus = get_corpus("wiki-vital-en")
    n = len(corpus)
    assert n > 9000
    first = corpus[0]
    assert (
        first.id == "wiki-vital-en:0:0" and first.meta["title"] and len(first.text) >= corpus.spec.min_chars
    )
    assert corpus.index_of(corpus[n // 2].id) == n // 2
    assert corpus.stats.bad_input == 0 and corpus.stats.documents > 10_000


@pytest.mark.parametrize("name", ["wiki-vital-fr", "wiki-vital-es"])
def test_siblings_stream_their_first_paragraph(name):
    spec = get_spec(name)
    assert spec.language == name[-2:]
    first = next(iter(get_corpus(name)))
    assert first.id == f"{name}:0:0" and len(first.text) >= spec.min_chars


def test_wikipedia_en_is_declared_for_streaming_without_touching_the_network():
    spec = get_spec("wikipedia-en")
    assert (spec.source, spec.hf_config, spec.streaming, spec.text_field) == (
        "hf:wikimedia/wikipedia",
        "20231101.en",
        None,
        "text",
    )
