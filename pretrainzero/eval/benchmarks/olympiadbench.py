"""OlympiadBench, English text-only math (675 problems); gold = ``final_answer[0]`` without ``$``."""

from __future__ import annotations

from .convert import math_rows, plain_answer
from .io import BenchmarkDataError, Row
from .spec import BenchmarkSpec


def _gold(row: Row, where: str) -> str:
    final = row.get("final_answer")
    if final is None:
        return plain_answer(row, where)
    if isinstance(final, (list, tuple)):
        if not final:
            raise BenchmarkDataError(f"{where}: empty final_answer")
        final = final[0]
    return str(final).strip().strip("$").strip()


BENCHMARK = BenchmarkSpec(
    name="olympiadbench", display="Olympiad", title="OlympiadBench (EN, text-only math)", kind="math",
    convert=math_rows(("question", "problem"), _gold, category_key="subfield"), category_field="subfield",
    hf_id="zwhe99/simplerl-OlympiadBench", hf_config=None, split="test", expected_rows=675,
    local_files=("test.jsonl", "test-*.parquet", "data/test-*.parquet"),
)
