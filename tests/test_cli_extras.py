"""Small CLI verbs and lookups: --version, list benchmarks|protocols|algorithms|recipes,
recipes by name (shipped in the wheel), play --show."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import pretrainzero
from pretrainzero.cli import main
from pretrainzero.rl.recipe import find_recipe, load_recipe

REPO = Path(__file__).resolve().parent.parent


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"pretrainzero {pretrainzero.__version__}"


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        ("benchmarks", ["gsm8k\tmath\tpackaged", "mmlu_pro\tmcq\tTIGER-Lab/MMLU-Pro"]),
        ("protocols", ["pz-0shot-boxed\tv2", "mmlu-pro-official\tv2"]),
        ("algorithms", ["dapo\tDAPO", "grpo\tGRPO", "module:Class"]),
        ("recipes", ["tiny-test\t", "smollm2-135m-cpu\t", "paper-qwen3-4b\t"]),
        ("corpora", ["wiki-vital-en\tv0"]),
        ("envs", ["pretrainzero/wiki-vital-en-MaskedSpan-v1"]),
    ],
)
def test_list_verbs(what, expected, capsys):
    assert main(["list", what]) == 0
    out = capsys.readouterr().out.splitlines()
    for prefix in expected:
        assert any(line.startswith(prefix) for line in out), (prefix, out[:5])


def test_recipes_are_found_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no agents/ here
    assert find_recipe("tiny-test") == REPO / "agents" / "tiny-test.yaml"
    assert find_recipe("agents/tiny-test.yaml") == REPO / "agents" / "tiny-test.yaml"
    assert load_recipe("tiny-test").name == "tiny-test"
    with pytest.raises(FileNotFoundError, match="not found.*shipped recipe: .*tiny-test"):
        find_recipe("tiny-tset")
    (tmp_path / "agents").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        find_recipe("agents")


def test_recipe_lookup_in_a_wheel_install(tmp_path, monkeypatch):
    """Without the repository's agents/, recipes are read from <prefix>/share/pretrainzero/agents."""
    import pretrainzero.paths as paths

    shared = tmp_path / "prefix" / "share" / "pretrainzero" / "agents"
    shared.mkdir(parents=True)
    shutil.copy(REPO / "agents" / "tiny-test.yaml", shared)
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "no-checkout")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    monkeypatch.chdir(tmp_path)
    assert find_recipe("tiny-test") == shared / "tiny-test.yaml"
    assert find_recipe("agents/tiny-test.yaml") == shared / "tiny-test.yaml"


def test_wheel_ships_recipes_and_corpus_yamls(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "pretrainzero_vf.py"):
        shutil.copy(REPO / name, src)
    for folder in ("pretrainzero", "envs", "agents"):
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=src, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("pretrainzero-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for recipe in (REPO / "agents").glob("*.yaml"):
        assert any(n.endswith(f"data/share/pretrainzero/agents/{recipe.name}") for n in names), recipe.name
    for corpus in (REPO / "envs").glob("*.yaml"):
        assert any(n.endswith(f"data/share/pretrainzero/envs/{corpus.name}") for n in names), corpus.name


def test_play_show_prints_one_episode(capsys):
    assert main(["play", "pretrainzero/wiki-vital-en-ActiveMasking-v1", "-n", "2", "--show", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.count("observation:") == 2  # mask turn, then prediction turn
    assert "--- action: \\mask{" in out and "--- action: \\boxed{" in out
    assert "--- reward: 1" in out and "valid mask: True" in out and "[mask]" in out
    assert "episodes=2" in out
