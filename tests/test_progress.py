"""Progress: a bar only on a terminal; log lines otherwise (every update with ``every_s=0``, else
at most every ``every_s`` seconds plus the last), with the fields of the last update.
Run: pytest tests/test_progress.py"""

from __future__ import annotations

from pretrainzero.progress import Progress


def test_lines_instead_of_a_bar_when_not_a_terminal(monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe or a log file
    lines: list[str] = []
    with Progress(3, "train", every_s=0, unit="step", log=lines.append) as p:
        assert p.bar is None and p.mode == "log"
        for step in range(3):
            p.update(1, acc=0.25 * step, valid=1)
        p.write("a message")
    assert [line.split(" (")[0] for line in lines[:3]] == ["train: 1/3 step", "train: 2/3 step", "train: 3/3 step"]
    assert lines[0].endswith(" acc=0 valid=1") and "left" in lines[0] and lines[2].endswith(" acc=0.5 valid=1")
    assert lines[3:] == ["a message"]  # and close() does not repeat the last count


def test_periodic_lines_keep_the_last_and_resume_counts_from_initial():
    lines: list[str] = []
    p = Progress(100, "train", mode="log", every_s=3600, unit="step", initial=40, log=lines.append)
    for _ in range(60):
        p.update()
    p.close()
    assert [line.split(" (")[0] for line in lines] == ["train: 100/100 step"]
    done: list[str] = []
    Progress(5, "train", mode="log", initial=5, log=done.append).write("nothing left to do")
    assert done == ["nothing left to do"]
