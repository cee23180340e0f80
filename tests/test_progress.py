"""Progress: a bar only on a terminal; log lines otherwise (every update, or at most every
``every_s`` seconds plus the last). Run: pytest tests/test_progress.py"""

from __future__ import annotations

from pretrainzero.progress import Progress


def test_lines_instead_of_a_bar_when_not_a_terminal():
    lines: list[str] = []
    with Progress(3, "train", bar=True, every_s=0, log=lines.append) as p:  # pytest's stderr is no terminal
        assert not p.is_bar
        for step in range(3):
            p.update(1, acc=0.25 * step, valid=1)
        p.write("a message")
    assert [line.split("  ")[0] for line in lines[:3]] == [
        "train 1/3 (33%) acc=0 valid=1",
        "train 2/3 (67%) acc=0.25 valid=1",
        "train 3/3 (100%) acc=0.5 valid=1",
    ]
    assert "s/step" in lines[0] and "left" in lines[0] and "left" not in lines[2]
    assert lines[3] == "a message"


def test_periodic_lines_keep_the_first_and_the_last():
    lines: list[str] = []
    p = Progress(100, "held-out", bar=False, every_s=3600, unit="item", log=lines.append)
    for _ in range(100):
        p.update()
    assert [line.split("  ")[0] for line in lines] == ["held-out 1/100 (1%)", "held-out 100/100 (100%)"]
    assert "s/item" in lines[1]
