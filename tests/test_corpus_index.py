"""Splitting, filters, dedup, stable ids, the on-disk index and its cache."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from pretrainzero.corpus import Corpus, CorpusSpec
from pretrainzero.corpus.dedup import HashSet64, hash64
from pretrainzero.corpus.split import split_document, split_long


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PRETRAINZERO_CACHE", str(tmp_path / "cache"))


def prose(i: int) -> str:
    return f"Record {i} tells how the bridge number {i} was built. Workers came from far away to help."


def write_jsonl(path, docs) -> str:
    path.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    return str(path)


def test_split_document_lines_and_long_paragraphs():
    pieces, n_long = split_document("  One line.\r\n\n  Two line.  \n", 100)
    assert (pieces, n_long) == (["One line.", "Two line."], 0)
    long = " ".join(f"Sentence {k} is here!" for k in range(40))
    chunks = split_long(long, 200)
    assert all(len(c) <= 200 for c in chunks) and " ".join(chunks) == long
    assert all(c.endswith("!") for c in chunks)  # cut at sentence ends only
    assert min(map(len, chunks)) > 100  # balanced: no tiny tail chunk


def test_split_long_without_sentence_ends_or_spaces():
    words = " ".join(["word"] * 100)
    assert all(len(c) <= 50 for c in split_long(words, 50)) and " ".join(split_long(words, 50)) == words
    blob = "x" * 130
    assert split_long(blob, 50) == ["x" * 50, "x" * 50, "x" * 30]


def test_min_chars_filter_and_dedup_keep_ids_stable(tmp_path):
    docs = [prose(0), "tiny\n" + prose(1), prose(0), prose(2)]
    src = write_jsonl(tmp_path / "d.jsonl", docs)
    kept = list(Corpus(CorpusSpec(name="c", source=src, min_chars=40)))
    assert [p.id for p in kept] == ["c:0:0", "c:1:1", "c:3:0"]  # "tiny" dropped, doc 2 a duplicate
    no_dedup = list(Corpus(CorpusSpec(name="c", source=src, min_chars=40, dedup=False)))
    assert [p.id for p in no_dedup] == ["c:0:0", "c:1:1", "c:2:0", "c:3:0"]
    loose = list(Corpus(CorpusSpec(name="c", source=src, min_chars=1, dedup=False)))
    assert [p.id for p in loose] == ["c:0:0", "c:1:0", "c:1:1", "c:2:0", "c:3:0"]
    # the same paragraph keeps the same id whatever the filters
    assert {p.id: p.text for p in kept}.items() <= {p.id: p.text for p in loose}.items()


def test_ids_are_stable_across_fresh_objects_and_cache_reuse(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [prose(i) + "\n" + prose(100 + i) for i in range(50)])
    spec = CorpusSpec(name="c", source=src, min_chars=40)
    streamed = [(p.id, p.text) for p in Corpus(spec)]  # no index yet: streams the source
    first = Corpus(spec)
    assert len(first) == 100 and first.is_indexed()
    indexed = [(first[i].id, first[i].text) for i in range(len(first))]
    reused = Corpus(spec)  # fresh object, index read from the cache
    assert [(p.id, p.text) for p in reused] == indexed == streamed
    assert reused.index_path == first.index_path


def test_index_of_round_trip_and_errors(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", ["tiny"] + [prose(i) + "\n" + prose(i + 500) for i in range(30)])
    corpus = Corpus(CorpusSpec(name="c", source=src, min_chars=40))
    for i in range(len(corpus)):
        assert corpus.index_of(corpus[i].id) == i
    assert corpus[-1] == corpus[len(corpus) - 1]
    assert corpus[np.int64(3)].id == corpus[3].id
    with pytest.raises(IndexError, match="out of range"):
        corpus[len(corpus)]
    with pytest.raises(KeyError, match="filtered out or out of range"):
        corpus.index_of("c:0:0")  # "tiny" was filtered
    with pytest.raises(KeyError, match="not a paragraph id of corpus 'c'"):
        corpus.index_of("other:1:0")


def test_cache_is_rebuilt_when_the_source_changes(tmp_path):
    path = tmp_path / "d.jsonl"
    write_jsonl(path, [prose(i) for i in range(3)])
    spec = CorpusSpec(name="c", source=str(path), min_chars=40)
    old = Corpus(spec)
    assert len(old) == 3
    write_jsonl(path, [prose(i) for i in range(5)])
    os.utime(path, ns=(1, 1))  # also differs in mtime
    new = Corpus(spec)
    assert len(new) == 5 and new.index_path != old.index_path
    assert [d.name for d in (tmp_path / "cache" / "index" / "c").iterdir()] == [new.index_path.name]  # stale pruned


def test_content_rules_change_the_cache_key_but_metadata_does_not(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [prose(0)])
    base = Corpus(CorpusSpec(name="c", source=src, min_chars=40))
    assert (
        Corpus(
            CorpusSpec(name="c", source=src, min_chars=40, description="x", tasks=("MaskedSpan",))
        ).cache_key
        == base.cache_key
    )
    assert Corpus(CorpusSpec(name="c", source=src, min_chars=41)).cache_key != base.cache_key
    assert Corpus(CorpusSpec(name="c", source=src, min_chars=40, version=1)).cache_key != base.cache_key


def test_index_is_numpy_on_disk_and_pickle_reopens(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [prose(i) for i in range(10)])
    corpus = Corpus(CorpusSpec(name="c", source=src, min_chars=40, title_field="none"))
    n = len(corpus)
    files = {f.name: f.stat().st_size for f in corpus.index_path.iterdir()}
    assert files["offsets.i64"] == 8 * (n + 1) and files["docs.i64"] == 8 * n and files["pieces.i32"] == 4 * n
    clone = pickle.loads(pickle.dumps(corpus))
    assert clone[7] == corpus[7] and "title" not in clone[7].meta


def test_stats_survive_cache_reuse(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [prose(0), prose(0), "short"])
    spec = CorpusSpec(name="c", source=src, min_chars=40)
    first = Corpus(spec).stats
    again = Corpus(spec).stats
    assert first == again and (again.duplicates, again.too_short, again.paragraphs) == (1, 1, 1)


def test_hashset64_detects_duplicates_and_grows():
    seen = HashSet64(capacity=4)
    values = [hash64(f"paragraph {i}") for i in range(5000)]
    assert all(seen.add(v) for v in values)
    assert not any(seen.add(v) for v in values[::7])
    assert len(seen) == 5000 and seen.nbytes <= 32 * 5000  # 8-byte slots, load factor kept in (1/4, 1/2]
    assert hash64("a") == hash64("a") != hash64("b")


def test_concurrent_builders_share_one_index(tmp_path):
    import multiprocessing as mp

    src = write_jsonl(tmp_path / "d.jsonl", [prose(i) for i in range(300)])
    spec = CorpusSpec(name="c", source=src, min_chars=40)
    ctx = mp.get_context("fork")
    with ctx.Pool(3) as pool:
        sizes = pool.map(_length, [spec] * 3)
    assert sizes == [300, 300, 300]
    assert [d.name for d in (tmp_path / "cache" / "index" / "c").iterdir() if d.is_dir()] == [
        Corpus(spec).index_path.name
    ]


def _length(spec: CorpusSpec) -> int:
    return len(Corpus(spec))
