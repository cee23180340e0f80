"""AIME 2024 (HuggingFaceH4/aime_2024, 30 problems); scored mean@32 by pz-0shot-boxed."""

from __future__ import annotations

from .convert import math_rows
from .spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="aime24", display="AIME24", title="AIME 2024", kind="math",
    convert=math_rows(("problem", "question")),
    hf_id="HuggingFaceH4/aime_2024", hf_config=None, split="train", expected_rows=30,
    local_files=("test.jsonl", "train.jsonl", "train-*.parquet", "data/train-*.parquet"),
)
