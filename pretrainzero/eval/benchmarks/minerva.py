r"""Minerva math (MIT OCW, 272 problems); gold = the copy's ``answer``, else the last ``\boxed{}`` of the solution."""

from __future__ import annotations

from ...parsing import last_boxed
from .convert import first, math_rows, text
from .io import BenchmarkDataError, Row
from .spec import BenchmarkSpec


def _gold(row: Row, where: str) -> str:
    if row.get("answer") not in (None, ""):
        return text(row["answer"])
    boxed = last_boxed(str(first(row, ("solution",), where)))
    if boxed is None:
        raise BenchmarkDataError(f"{where}: solution has no \\boxed{{}} answer")
    return boxed.strip()


BENCHMARK = BenchmarkSpec(
    name="minerva", display="Minerva", title="Minerva (MIT OCW, 272 problems)", kind="math",
    convert=math_rows(("problem", "question"), _gold, category_key="type"), category_field="type",
    hf_id="zwhe99/simplerl-minerva-math", hf_config=None, split="test", expected_rows=272,
    local_dirs=("minerva_math",), local_files=("test.jsonl", "test-*.parquet", "data/test-*.parquet"),
)
