"""Spec validation, YAML loading and the three equal ways to register a corpus."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import pretrainzero
from pretrainzero.cli import main
from pretrainzero.corpus import (
    CorpusSpec,
    UnknownCorpusError,
    get_corpus,
    get_spec,
    list_corpora,
    load_corpus_yaml,
    read_corpus_yaml,
    register_corpus,
    unregister_corpus,
)

NAMES = ("reg-yaml", "reg-api", "reg-cli", "reg-x")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("PRETRAINZERO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("PRETRAINZERO_ENV_PATH", raising=False)
    yield
    for name in NAMES:
        unregister_corpus(name)


@pytest.fixture
def data(tmp_path) -> Path:
    path = tmp_path / "data" / "notes.jsonl"
    path.parent.mkdir()
    path.write_text(
        "".join(
            json.dumps({"body": f"Note {i} is about the harbour and its {i} old boats."}) + "\n"
            for i in range(5)
        )
    )
    return path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "Bad Name"}, "name must match"),
        ({"name": "-x"}, "name must match"),
        ({"source": ""}, "source must be a non-empty string"),
        ({"source": ()}, "at least one text"),
        ({"source": "hf:"}, "needs a dataset id"),
        ({"source": ["a.jsonl", "b.jsonl"]}, "look like file paths; give one path or glob"),
        ({"source": "package:onlyname"}, "package:<module or distribution>/<relative glob>"),
        ({"source": "data.csv"}, "unsupported file type '.csv'"),
        ({"text_field": ""}, "text_field must be a non-empty string"),
        ({"min_chars": 0}, "min_chars must be an integer >= 1"),
        ({"min_chars": True}, "min_chars must be an integer"),
        ({"max_chars": 10}, "max_chars must be an integer >= 20"),
        ({"min_chars": 500, "max_chars": 400}, r"max_chars \(400\) must be >= min_chars \(500\)"),
        ({"dedup": "yes"}, "dedup must be true or false"),
        ({"streaming": "auto"}, "streaming must be"),
        ({"tasks": ()}, "tasks must be a non-empty list"),
        ({"tasks": ("Masked Span",)}, "is not a task name"),
        ({"tasks": ("MaskedSpan", "MaskedSpan")}, "duplicate task names"),
        ({"version": -1}, "version must be an integer >= 0"),
    ],
)
def test_spec_validation_names_the_field(fields, message):
    base = {"name": "ok", "source": "x.jsonl"}
    with pytest.raises(ValueError, match=message):
        CorpusSpec(**{**base, **fields})


def test_spec_normalises_lists_and_is_hashable():
    spec = CorpusSpec(name="ok", source=["a", "b"], tasks=["MaskedSpan"])
    assert spec.source == ("a", "b") and spec.tasks == ("MaskedSpan",) and hash(spec)
    assert spec.kind == "memory" and CorpusSpec(name="ok", source="hf:x/y").kind == "hf"


def test_yaml_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: reg-x\nsource: a.jsonl\ntext_feild: body\n")
    with pytest.raises(
        ValueError, match=r"bad\.yaml: unknown corpus field 'text_feild' \(did you mean 'text_field'\?\)"
    ):
        read_corpus_yaml(bad)
    bad.write_text("name: reg-x\n")
    with pytest.raises(ValueError, match="'source' is required"):
        read_corpus_yaml(bad)
    bad.write_text("name: reg-x\nsource: ''\n")
    with pytest.raises(ValueError, match="source must be a non-empty string"):
        read_corpus_yaml(bad)
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ValueError, match="invalid YAML"):
        read_corpus_yaml(bad)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus_yaml(tmp_path / "nope.yaml")


def test_three_registration_paths_give_the_same_spec_and_env_ids(tmp_path, data, monkeypatch):
    fields = {"text_field": "body", "min_chars": 20, "description": "harbour notes"}
    # 1. YAML in a user folder, with a source relative to the YAML file
    folder = tmp_path / "yaml"
    folder.mkdir()
    (folder / "c.yaml").write_text(
        "name: reg-yaml\nsource: ../data/notes.jsonl\ntext_field: body\n"
        "min_chars: 20\ndescription: harbour notes\n"
    )
    (yaml_spec,) = load_corpus_yaml(folder)
    # 2. the Python call, with a source relative to the working directory
    monkeypatch.chdir(tmp_path)
    api_spec = register_corpus("reg-api", source="data/notes.jsonl", **fields)
    # 3. the CLI, which writes a YAML file that import-time loading picks up
    out = tmp_path / "cli-envs"
    assert (
        main(
            [
                "corpus",
                "add",
                "reg-cli",
                "--source",
                "data/notes.jsonl",
                "--text-field",
                "body",
                "--min-chars",
                "20",
                "--description",
                "harbour notes",
                "--dir",
                str(out),
            ]
        )
        == 0
    )
    (cli_spec,) = read_corpus_yaml(out / "reg-cli.yaml")
    assert get_spec("reg-cli") == cli_spec

    def rename(spec, name):
        return CorpusSpec(**{**spec.to_dict(defaults=True), "name": name})

    assert rename(yaml_spec, "n") == rename(api_spec, "n") == rename(cli_spec, "n")
    assert api_spec.source == str(data)
    ids = [i for i in _env_ids() if i.startswith(("pretrainzero/reg-api-", "pretrainzero/reg-cli-"))]
    if ids:  # the env layer is present: same tasks and versions for each path
        assert sorted(i.replace("reg-cli", "reg-api") for i in ids if "reg-cli" in i) == sorted(
            i for i in ids if "reg-api" in i
        )
    assert [p.text for p in get_corpus("reg-api")] == [p.text for p in get_corpus("reg-yaml")]


def _env_ids() -> list[str]:
    import gymnasium

    return [i for i in gymnasium.registry if i.startswith("pretrainzero/")]


def test_env_path_folders_are_loaded_by_builtin_loading(tmp_path, data, monkeypatch):
    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "x.yaml").write_text(f"name: reg-x\nsource: {data}\ntext_field: body\nmin_chars: 20\n")
    (folder / "broken.yaml").write_text("name: BAD\nsource: a.jsonl\n")
    (folder / "syntax.yaml").write_text("name: bad\nsource: [oops\n")
    user = tmp_path / "config" / "pretrainzero" / "envs"  # XDG_CONFIG_HOME points at tmp_path/config
    user.mkdir(parents=True)
    (user / "api.yml").write_text(f"- name: reg-api\n  source: {data}\n  text_field: body\n")
    monkeypatch.setenv("PRETRAINZERO_ENV_PATH", os.pathsep.join([str(tmp_path / "missing"), str(folder)]))
    with pytest.warns(UserWarning) as caught:
        pretrainzero.corpus.load_builtin_corpora()
    said = sorted(str(w.message) for w in caught)
    assert any(re.search(r"skipped corpus file .*broken\.yaml", m) for m in said), said
    # a syntax error is one line naming file:line:column, the path said once
    [syntax] = [m for m in said if "syntax.yaml" in m]
    assert "\n" not in syntax and syntax.count("syntax.yaml") == 1, syntax
    assert re.search(r"syntax\.yaml:3:1: invalid YAML \(.+\)", syntax), syntax
    assert {"reg-x", "reg-api"} <= {s.name for s in list_corpora()}
    assert {"wiki-vital-en", "wiki-vital-fr", "wiki-vital-es", "wikipedia-en"} <= {
        s.name for s in list_corpora()
    }


def test_unknown_corpus_suggests_close_names():
    with pytest.raises(UnknownCorpusError, match="did you mean .*'wiki-vital-en'") as info:
        get_corpus("wiki-vital-em")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_cli_add_refuses_bad_sources_and_overwrites_only_with_force(tmp_path, data, capsys):
    out = tmp_path / "envs"
    assert (
        main(
            ["corpus", "add", "reg-cli", "--source", str(data), "--text-field", "missing", "--dir", str(out)]
        )
        == 2
    )
    assert "0 paragraphs — 5 records lacked field 'missing'" in capsys.readouterr().err
    assert not out.exists() or not list(out.iterdir()), "a failed add must write nothing"
    args = [
        "corpus",
        "add",
        "reg-cli",
        "--source",
        str(data),
        "--text-field",
        "body",
        "--min-chars",
        "20",
        "--dir",
        str(out),
    ]
    assert main(args) == 0
    assert main(args) == 2 and "already exists" in capsys.readouterr().err
    assert main([*args, "--force", "--tasks", "MaskedSpan"]) == 0
    assert read_corpus_yaml(out / "reg-cli.yaml")[0].tasks == ("MaskedSpan",)
    assert [p.name for p in out.iterdir()] == ["reg-cli.yaml"]  # no temporary files left


def test_cli_show_and_index(data, capsys, monkeypatch):
    register_corpus("reg-x", source=str(data), text_field="body", min_chars=20)
    import pretrainzero.cli.corpus as cli_corpus

    small_local = cli_corpus._small_local
    monkeypatch.setattr(cli_corpus, "_small_local", lambda spec: False)  # as for a big source
    assert main(["corpus", "show", "reg-x", "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert "reg-x:0:0" in out and "reg-x:1:0" in out and "reg-x:2:0" not in out and "not indexed yet" in out
    assert main(["corpus", "index", "reg-x"]) == 0
    out = capsys.readouterr().out
    assert "5 paragraphs from 5 documents" in out and "index:" in out
    assert main(["corpus", "show", "reg-x", "-n", "0"]) == 0
    assert "5 paragraphs" in capsys.readouterr().out
    monkeypatch.setattr(cli_corpus, "_small_local", small_local)
    register_corpus("reg-api", source=str(data), text_field="body", min_chars=30)
    assert main(["corpus", "show", "reg-api", "-n", "0"]) == 0  # small local source: stats right away
    assert "5 paragraphs from 5 documents" in capsys.readouterr().out


def test_unknown_task_is_rejected_and_nothing_is_registered(data):
    pytest.importorskip("pretrainzero.envs.registration")
    with pytest.raises(ValueError, match="unknown task"):
        register_corpus("reg-x", source=str(data), text_field="body", tasks=("NoSuchTask",))
    assert "reg-x" not in {s.name for s in list_corpora()}
