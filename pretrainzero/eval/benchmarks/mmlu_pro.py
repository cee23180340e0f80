"""MMLU-Pro (TIGER-Lab, test 12,032 items with up to ten options; validation 70 rows = the few-shot pool)."""

from __future__ import annotations

from collections.abc import Sequence

from .convert import each_row, first, letter_ok
from .spec import BenchmarkSpec, RowFile, Sample


def _convert(parts: Sequence[RowFile]) -> list[Sample]:
    out = []
    for where, r in each_row(parts):
        options = tuple(str(o) for o in first(r, ("options",), where))
        out.append(Sample(
            id=str(first(r, ("question_id",), where)), question=str(first(r, ("question",), where)),
            answer=letter_ok(str(first(r, ("answer",), where)), len(options), where), choices=options,
            category=str(first(r, ("category",), where)),
            meta={"cot_content": r.get("cot_content") or "", "src": r.get("src"),
                  "answer_index": r.get("answer_index")},
        ))
    return out


BENCHMARK = BenchmarkSpec(
    name="mmlu_pro", display="MMLU-Pro", title="MMLU-Pro", kind="mcq", convert=_convert, category_field="category",
    hf_id="TIGER-Lab/MMLU-Pro", hf_config=None, split="test", expected_rows=12032,
    local_dirs=("MMLU-Pro", "mmlu-pro"),
    local_files=("test-*.parquet", "data/test-*.parquet", "test.jsonl", "test.json"),
    fewshot_split="validation", fewshot_rows=70,
    fewshot_files=("validation-*.parquet", "data/validation-*.parquet", "validation.jsonl", "validation.json"),
)
