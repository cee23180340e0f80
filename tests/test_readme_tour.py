"""The README's Quick tour and corpus-registration examples run as written (offline).

The blocks are read from README.md itself, so an edit there that breaks a command fails here.
The default-suite variant runs each tour line in-process with the eval line's model swapped for
``tiny``; ``test_quick_tour_verbatim`` (slow) runs every line through bash exactly as printed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pretrainzero.cli import main
from pretrainzero.corpus import get_corpus, get_spec, load_corpus_yaml, unregister_corpus

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def blocks(heading: str, lang: str) -> list[str]:
    """The ``lang`` code blocks of the README section that starts with ``heading``."""
    level = len(heading.split(" ", 1)[0])
    section: list[str] = []
    inside = fenced = False
    for line in README.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            if inside:
                break
            inside = line == heading
        if inside:
            section.append(line)
    return re.findall(rf"```{lang}\n(.*?)```", "\n".join(section) + "\n", re.S)


def tour_commands() -> list[list[str]]:
    (block,) = blocks("## Quick tour", "bash")
    return [argv for line in block.splitlines() if (argv := shlex.split(line, comments=True))]


@pytest.fixture
def checkout(tmp_path, monkeypatch) -> Path:
    """A folder laid out like the repository root (what the tour reads), with its own cache."""
    root = tmp_path / "checkout"
    root.mkdir()
    for folder in ("agents", "leaderboards"):
        shutil.copytree(REPO / folder, root / folder)
    monkeypatch.chdir(root)
    monkeypatch.setenv("PRETRAINZERO_CACHE", str(tmp_path / "cache"))
    return root


def test_quick_tour_runs(checkout, capsys):
    commands = tour_commands()
    assert commands[0] == ["source", ".venv/bin/activate"] and len(commands) >= 6
    for argv in commands[1:]:
        assert argv[0] == "pretrainzero", argv
        args = argv[1:]
        if args[0] == "eval":  # the one slow line: same command on the tiny model (verbatim: the slow test)
            args[args.index("--model") + 1] = "tiny"
        assert main(args) == 0, shlex.join(argv)
    out, err = capsys.readouterr()
    assert "pretrainzero/wiki-vital-en-MaskedSpan-v1" in out and "PASS" in out
    # the one-off build of `tiny` into the fresh cache says what it does (no silent phase)
    assert "building the tiny model into" in err and "done in" in err
    assert "agent=oracle  episodes=1000  mean reward 1.0000" in out
    assert (checkout / "runs" / "tiny" / "checkpoints" / "step-000003").is_dir()
    assert (checkout / "models" / "tiny" / "model.safetensors").is_file()
    (record,) = [json.loads(p.read_text()) for p in (checkout / "runs" / "eval").glob("*.json")]
    assert record["subset"] and record["config"]["protocol_deviations"]  # labelled as a reduced run


def test_quick_tour_python_block(checkout):
    (block,) = blocks("## Quick tour", "python")
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # our own README text, not model output
    assert namespace["terminated"] and namespace["reward"] in (0.0, 1.0)
    assert namespace["info"]["paragraph_id"].startswith("wiki-vital-en:")


@pytest.mark.slow
def test_quick_tour_verbatim(checkout):
    """Every line through bash, exactly as printed (the eval line converts and runs SmolLM2)."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "pretrainzero").exists():
        pytest.skip("the pretrainzero console script is not installed next to this interpreter")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    (block,) = blocks("## Quick tour", "bash")
    for line in block.splitlines():
        if line.startswith("source "):
            continue  # the test's interpreter is the activated environment
        done = subprocess.run(["bash", "-c", line], cwd=checkout, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"


def test_corpus_registration_examples_agree(tmp_path, monkeypatch):
    """The YAML, Python and CLI examples give one spec (YAML paths: its folder; the others: cwd)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PRETRAINZERO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("PRETRAINZERO_ENV_PATH", raising=False)
    notes = tmp_path / "my-envs" / "notes"
    notes.mkdir(parents=True)
    body = "The lab notebook records how the sample was cooled, weighed and stored overnight. " * 4
    (notes / "a.jsonl").write_text("".join(json.dumps({"body": f"Entry {i}. {body}"}) + "\n" for i in range(3)))
    (yaml_block,) = blocks("### Registering your corpus", "yaml")
    (py_block,) = blocks("### Registering your corpus", "python")
    (cli_block,) = blocks("### Registering your corpus", "bash")
    target = yaml_block.splitlines()[0].split()[1]  # "# my-envs/lab-notes.yaml  (then: ...)"
    (tmp_path / target).write_text(yaml_block)
    try:
        (from_yaml,) = load_corpus_yaml(tmp_path / target)
        assert len(list(get_corpus("lab-notes"))) == 3
        unregister_corpus("lab-notes")
        exec(compile(py_block, "README.md", "exec"), {})
        from_python = get_spec("lab-notes")
        unregister_corpus("lab-notes")
        add, remove = [shlex.split(line, comments=True) for line in cli_block.splitlines() if line.strip()]
        assert add[0] == "pretrainzero" and main(add[1:]) == 0
        from_cli = get_spec("lab-notes")
        written = tmp_path / "config" / "pretrainzero" / "envs" / "lab-notes.yaml"
        index = tmp_path / "cache" / "index" / "lab-notes"
        assert written.is_file() and index.is_dir()
        assert remove[:3] == ["pretrainzero", "corpus", "remove"] and main(remove[1:]) == 0
        assert not written.exists() and not index.exists()
    finally:
        unregister_corpus("lab-notes")
    assert from_yaml == from_python == from_cli
    assert from_yaml.source == str(notes / "*.jsonl")
