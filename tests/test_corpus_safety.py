"""Corpus data safety: built-in names are protected, every definition keeps its own index,
truncated sources and damaged indexes fail clearly or are rebuilt (never silently wrong)."""

from __future__ import annotations

import gzip
import json
import logging

import pytest

from pretrainzero.cli import main
from pretrainzero.corpus import Corpus, CorpusError, CorpusSpec, get_spec, register_corpus, unregister_corpus
from pretrainzero.corpus.registry import BuiltinCorpusError, load_builtin_corpora
from pretrainzero.corpus.store import DamagedIndexError, Store

NAMES = ("safe-a",)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("PRETRAINZERO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("PRETRAINZERO_ENV_PATH", raising=False)
    yield
    for name in (*NAMES, "wiki-vital-en"):
        unregister_corpus(name)  # restores the built-in definition when it was replaced
    load_builtin_corpora()


def prose(i: int) -> str:
    return f"Record {i} tells how the stone bridge number {i} was built by workers from the valley."


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text("".join(json.dumps({"text": prose(i)}) + "\n" for i in range(40)))
    return path


def test_builtin_corpus_cannot_be_shadowed_without_replace(jsonl, tmp_path, capsys):
    builtin = get_spec("wiki-vital-en")
    with pytest.raises(BuiltinCorpusError, match="'wiki-vital-en' is built in.*replace=True"):
        register_corpus("wiki-vital-en", source=str(jsonl), min_chars=20)
    assert get_spec("wiki-vital-en") == builtin
    # the CLI refuses too, writes nothing and exits 2 with one line
    out = tmp_path / "envs"
    assert main(["corpus", "add", "wiki-vital-en", "--source", str(jsonl), "--dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "built in" in err and "--replace" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and get_spec("wiki-vital-en") == builtin
    # a user YAML without `replace: true` is skipped with a warning, the built-in stays
    user = tmp_path / "config" / "pretrainzero" / "envs"
    user.mkdir(parents=True)
    (user / "shadow.yaml").write_text(f"name: wiki-vital-en\nsource: {jsonl}\nmin_chars: 20\n")
    with pytest.warns(UserWarning, match="shadow.yaml.*built in"):
        load_builtin_corpora()
    assert get_spec("wiki-vital-en") == builtin
    (user / "shadow.yaml").unlink()
    # explicit replacement works, by call and by CLI (which writes `replace: true`)
    replaced = register_corpus("wiki-vital-en", source=str(jsonl), min_chars=20, replace=True)
    assert get_spec("wiki-vital-en") == replaced != builtin
    unregister_corpus("wiki-vital-en")
    assert get_spec("wiki-vital-en") == builtin  # unregistering a replacement restores the built-in
    args = ["corpus", "add", "wiki-vital-en", "--source", str(jsonl), "--min-chars", "20", "--dir", str(out)]
    assert main([*args, "--replace"]) == 0
    assert "replace: true" in (out / "wiki-vital-en.yaml").read_text()
    assert get_spec("wiki-vital-en").source == str(jsonl)


def test_redefining_a_name_keeps_the_other_definitions_index(jsonl):
    a = Corpus(register_corpus("safe-a", source=str(jsonl), min_chars=20))
    assert len(a) == 40
    b = Corpus(register_corpus("safe-a", source=str(jsonl), min_chars=20, dedup=False))
    assert len(b) == 40 and b.index_path != a.index_path
    assert Store.exists(a.index_path) and Store.exists(b.index_path)  # neither deleted the other
    built = a.index_path.stat().st_mtime_ns
    again = Corpus(register_corpus("safe-a", source=str(jsonl), min_chars=20))
    assert again.index_path == a.index_path and len(again) == 40
    assert a.index_path.stat().st_mtime_ns == built  # reused, not rebuilt


def test_truncated_gz_source_fails_corpus_add_with_one_line(tmp_path, capsys):
    whole = gzip.compress("".join(json.dumps({"text": prose(i)}) + "\n" for i in range(3000)).encode())
    path = tmp_path / "notes.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])  # a download cut in the middle
    out = tmp_path / "envs"
    assert main(["corpus", "add", "safe-a", "--source", str(path), "--min-chars", "20", "--dir", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "notes.jsonl.gz" in err and "truncated or corrupt" in err
    assert not out.exists()  # nothing registered on disk
    assert not (tmp_path / "cache" / "index" / "safe-a").exists()  # and no empty index folder left
    with pytest.raises(CorpusError, match="truncated or corrupt"):
        list(Corpus(CorpusSpec(name="safe-a", source=str(path), min_chars=20)))  # streaming fails clearly too


@pytest.mark.parametrize("damage", ["truncate", "flip", "meta"])
def test_damaged_index_is_detected_and_rebuilt(jsonl, damage, caplog):
    spec = CorpusSpec(name="safe-a", source=str(jsonl), min_chars=20)
    first = Corpus(spec)
    texts = [first[i].text for i in range(len(first))]
    first._store.close()
    text_bin = first.index_path / "text.bin"
    data = text_bin.read_bytes()
    if damage == "truncate":
        text_bin.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        text_bin.write_bytes(data[:10] + bytes([data[10] ^ 1]) + data[11:])  # same size, other bytes
    else:
        (first.index_path / "meta.json").write_text("{")
    with pytest.raises(DamagedIndexError):
        Store(first.index_path)
    with caplog.at_level(logging.WARNING, logger="pretrainzero.corpus"):
        fresh = Corpus(spec)
        assert [fresh[i].text for i in range(len(fresh))] == texts  # rebuilt, never empty or altered
    assert "rebuilding" in caplog.text
    assert Store(fresh.index_path).n == 40


def test_closed_index_says_so(jsonl):
    corpus = Corpus(CorpusSpec(name="safe-a", source=str(jsonl), min_chars=20))
    assert corpus[0].text
    store = Store(corpus.index_path)
    assert store.row(0)[2] == corpus[0].text
    store.close()
    store.close()  # twice is harmless
    with pytest.raises(ValueError, match="is closed"):
        store.row(0)


def test_corpus_remove_undoes_corpus_add(jsonl, tmp_path, capsys):
    user = tmp_path / "config" / "pretrainzero" / "envs"
    assert main(["corpus", "add", "safe-a", "--source", str(jsonl), "--min-chars", "20"]) == 0
    index = Corpus(get_spec("safe-a")).index_path
    assert (user / "safe-a.yaml").is_file() and Store.exists(index)
    other = Corpus(register_corpus("safe-b", source=str(jsonl), min_chars=20))
    len(other)  # another corpus's index must survive
    capsys.readouterr()
    assert main(["corpus", "remove", "safe-a"]) == 0
    out = capsys.readouterr().out
    assert f"removed {user / 'safe-a.yaml'}" in out and "removed index" in out
    assert not (user / "safe-a.yaml").exists() and not index.parent.exists()
    assert Store.exists(other.index_path)
    with pytest.raises(Exception, match="unknown corpus 'safe-a'"):
        get_spec("safe-a")
    assert main(["corpus", "remove", "safe-a"]) == 2  # nothing left to remove: one line
    assert "no corpus file in" in capsys.readouterr().err
    unregister_corpus("safe-b")


def test_corpus_remove_refuses_builtins_and_shared_files_but_restores_a_replaced_builtin(jsonl, tmp_path, capsys):
    builtin = get_spec("wiki-vital-en")
    assert main(["corpus", "remove", "wiki-vital-en"]) == 2
    assert "is built in: no user file defines it" in capsys.readouterr().err
    user = tmp_path / "config" / "pretrainzero" / "envs"
    args = ["corpus", "add", "wiki-vital-en", "--source", str(jsonl), "--min-chars", "20", "--replace"]
    assert main(args) == 0 and get_spec("wiki-vital-en") != builtin
    assert main(["corpus", "remove", "wiki-vital-en"]) == 0
    assert "is the built-in definition again" in capsys.readouterr().out
    assert get_spec("wiki-vital-en") == builtin and not (user / "wiki-vital-en.yaml").exists()
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "two.yaml").write_text(f"- {{name: safe-a, source: {jsonl}}}\n- {{name: safe-c, source: {jsonl}}}\n")
    assert main(["corpus", "remove", "safe-a", "--dir", str(shared)]) == 2
    assert "together with 'safe-c': edit that file instead" in capsys.readouterr().err
    assert (shared / "two.yaml").is_file()
