"""`pretrainzero list | check | play`, run in-process through the real argument parser."""

from __future__ import annotations

import pytest

import pretrainzero
from pretrainzero.cli import main
from pretrainzero.corpus import unregister_corpus

TEXTS = (
    "The night train to the coast stopped at every village, and the conductor knew most of the "
    "passengers by name after forty years of punching their paper tickets.",
    "Bees from the rooftop hives visited the linden trees along the avenue, and the café on the "
    "corner sold the dark summer honey in small glass jars.",
)


@pytest.fixture(scope="module")
def toy():
    pretrainzero.register_corpus("pz-clitest", source=TEXTS, min_chars=1)
    yield "pretrainzero/pz-clitest-{}-v1"
    unregister_corpus("pz-clitest")


def test_list_envs_and_corpora(capsys):
    assert main(["list", "envs", "--task", "MaskedSpan"]) == 0
    out = capsys.readouterr().out.split()
    assert "pretrainzero/wiki-vital-en-MaskedSpan-v1" in out and not [i for i in out if "NextToken" in i]
    assert main(["list", "corpora"]) == 0
    assert "wiki-vital-en" in capsys.readouterr().out


def test_list_envs_of_an_unknown_corpus_or_task_is_an_error(capsys):
    assert main(["list", "envs", "--corpus", "nosuch"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: unknown corpus 'nosuch'")
    assert captured.err.count("\n") == 1
    assert main(["list", "envs", "--corpus", "wiki-vital-en", "--task", "MaskSpan"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --task 'MaskSpan': no such task; choose from ") and "MaskedSpan" in err
    assert main(["list", "envs", "--corpus", "wiki-vital-en"]) == 0  # a known one still lists its envs
    assert "pretrainzero/wiki-vital-en-MaskedSpan-v1" in capsys.readouterr().out.split()


@pytest.mark.parametrize("task", ("MaskedSpan", "NextToken", "MaskGeneration", "ActiveMasking"))
def test_check_passes_on_a_good_env(toy, task, capsys):
    assert main(["check", toy.format(task), "-n", "30"]) == 0
    out = capsys.readouterr().out
    assert "ok    gymnasium_api" in out and out.rstrip().endswith("PASS")


def test_check_fails_with_nonzero_exit(toy, capsys):
    assert main(["check", toy.format("MaskedSpan"), "-n", "10", "--random-max", "-1"]) == 1
    assert "FAIL  random_floor" in capsys.readouterr().out


def test_unknown_env_names_close_matches(capsys):
    assert main(["play", "wiki-vital-en-MaskSpan-v1"]) == 2
    err = capsys.readouterr().err
    assert "unknown env id" in err and "pretrainzero/wiki-vital-en-MaskedSpan-v1" in err


def test_play_prints_a_summary(toy, capsys):
    assert main(["play", toy.format("MaskedSpan"), "--agent", "oracle", "-n", "50", "--seed", "3"]) == 0
    captured = capsys.readouterr()
    line = captured.out.strip()
    assert captured.err == ""  # not a terminal: no progress bar residue in logs
    assert (
        "agent=oracle" in line
        and "episodes=50" in line
        and "mean reward 1.0000" in line
        and "episodes/s" in line
    )
    # the namespace prefix is optional
    assert (
        main(["play", "pz-clitest-ActiveMasking-v1", "--agent", "random", "-n", "20", "--no-progress"]) == 0
    )
    out = capsys.readouterr().out
    assert "agent=random" in out and "valid masks" in out
