"""SuperGPQA (m-a-p, 26,529 graduate-level MCQ items over 285 disciplines, up to ten options)."""

from __future__ import annotations

from collections.abc import Sequence

from .convert import each_row, first, letter_ok
from .spec import BenchmarkSpec, RowFile, Sample


def _convert(parts: Sequence[RowFile]) -> list[Sample]:
    out = []
    for where, r in each_row(parts):
        options = tuple(str(o) for o in first(r, ("options",), where))
        out.append(Sample(
            id=str(first(r, ("uuid",), where)), question=str(first(r, ("question",), where)),
            answer=letter_ok(str(first(r, ("answer_letter",), where)), len(options), where), choices=options,
            category=str(first(r, ("discipline",), where)),
            meta={k: r.get(k) for k in ("field", "subfield", "difficulty", "is_calculation", "answer")},
        ))
    return out


BENCHMARK = BenchmarkSpec(
    name="supergpqa", display="SuperGPQA", title="SuperGPQA", kind="mcq", convert=_convert,
    category_field="discipline", hf_id="m-a-p/SuperGPQA", hf_config=None, split="train", expected_rows=26529,
    local_dirs=("SuperGPQA",), local_files=("SuperGPQA-all.jsonl", "data/SuperGPQA-all.jsonl"),
)
