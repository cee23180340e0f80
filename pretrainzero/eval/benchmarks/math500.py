"""MATH-500 (HuggingFaceH4/MATH-500 test, 500 problems); gold = the ``answer`` field."""

from __future__ import annotations

from .convert import math_rows
from .spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="math500", display="MATH-500", title="MATH-500", kind="math",
    convert=math_rows(("problem",), category_key="subject"), category_field="subject",
    hf_id="HuggingFaceH4/MATH-500", hf_config=None, split="test", expected_rows=500,
    local_dirs=("MATH-500",), local_files=("test.jsonl", "test-*.parquet", "data/test-*.parquet"),
)
