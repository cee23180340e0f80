"""AMC23 (40 problems, the copy the Qwen/simpleRL toolkits read); scored mean@32 by pz-0shot-boxed."""

from __future__ import annotations

from .convert import math_rows
from .spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="amc23", display="AMC23", title="AMC23", kind="math",
    convert=math_rows(("problem", "question")),
    hf_id="zwhe99/amc23", hf_config=None, split="test", expected_rows=40,
    local_files=("test.jsonl", "test-*.parquet", "data/test-*.parquet"),
)
