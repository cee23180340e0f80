"""Benchmark specifications: official dataset ids, splits, row counts and the local file names.

Row counts are the official ones (``evals.md`` §1–3 and ``offline-assets.md`` §3); a loaded file
with another count is rejected unless the caller opts out (fixtures, deliberate subsets), and the
opt-out is recorded in the loaded benchmark's notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Sample:
    """One benchmark item. ``answer`` is the gold letter for MCQ, the gold answer string otherwise.

    ``choices`` holds the options in prompt order (``None`` for open answers); ``category`` is the
    per-category reporting key (MMLU-Pro category, SuperGPQA discipline, BBEH task, ...); ``meta``
    keeps the official fields a protocol may need (e.g. MMLU-Pro ``cot_content``, SuperGPQA
    ``difficulty``).
    """

    id: str
    question: str
    answer: str
    choices: tuple[str, ...] | None = None
    category: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class BenchmarkSpec:
    """Where a benchmark's official data lives and what it must look like.

    ``local_files``: file-name globs tried, in order, under ``<data_dir>/<dir>`` for each ``dir``
    in ``(name, *local_dirs)`` (and under ``<data_dir>`` itself for distinctive names, or for
    any name when ``<data_dir>`` is an HF snapshot folder);
    every glob that matches contributes its files (sorted), the first glob set that matches wins.
    ``fewshot_files`` is the same for the few-shot pool (MMLU-Pro's validation split).
    """

    name: str
    kind: Literal["mcq", "math", "text"]
    hf_id: str | None
    hf_config: str | None
    split: str
    expected_rows: int | None
    packaged: bool
    title: str = ""
    local_dirs: tuple[str, ...] = ()
    local_files: tuple[str, ...] = ()
    fewshot_split: str | None = None
    fewshot_rows: int | None = None
    fewshot_files: tuple[str, ...] = ()
    hf_revision: str | None = None  # pin here once a revision has been checked
    citation: str = ""

    @property
    def dirs(self) -> tuple[str, ...]:
        return (self.name, *self.local_dirs)


@dataclass(frozen=True)
class LoadedBenchmark:
    """Samples plus provenance: where they came from, the dataset revision and the file sha256.

    ``fewshot`` is the few-shot pool where a protocol needs one (MMLU-Pro validation rows).
    ``files`` lists ``(file name, sha256)`` of every file read; ``notes`` records anything a
    results record must carry (a skipped row-count check, dropped header rows, a shuffle seed).
    """

    spec: BenchmarkSpec
    samples: tuple[Sample, ...]
    source: str
    revision: str | None
    sha256: str
    fewshot: tuple[Sample, ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    def __len__(self) -> int:
        return len(self.samples)


def _spec(**kw: object) -> BenchmarkSpec:
    return BenchmarkSpec(**kw)  # type: ignore[arg-type]


BENCHMARKS: dict[str, BenchmarkSpec] = {
    s.name: s
    for s in (
        _spec(
            name="mmlu_pro", kind="mcq", title="MMLU-Pro", hf_id="TIGER-Lab/MMLU-Pro", hf_config=None,
            split="test", expected_rows=12032, packaged=False, local_dirs=("MMLU-Pro", "mmlu-pro"),
            local_files=("test-*.parquet", "data/test-*.parquet", "test.jsonl", "test.json"),
            fewshot_split="validation", fewshot_rows=70,
            fewshot_files=("validation-*.parquet", "data/validation-*.parquet", "validation.jsonl",
                           "validation.json"),
        ),
        _spec(
            name="supergpqa", kind="mcq", title="SuperGPQA", hf_id="m-a-p/SuperGPQA", hf_config=None,
            split="train", expected_rows=26529, packaged=False, local_dirs=("SuperGPQA",),
            local_files=("SuperGPQA-all.jsonl", "data/SuperGPQA-all.jsonl"),
        ),
        _spec(
            name="bbeh", kind="text", title="BIG-Bench Extra Hard (General-Reasoner copy)",
            hf_id="MrLight/bbeh-eval", hf_config=None, split="train", expected_rows=4520, packaged=False,
            local_dirs=("bbeh-eval",),
            local_files=("train-*.parquet", "data/train-*.parquet", "train.jsonl", "test.jsonl", "bbeh.jsonl"),
        ),
        _spec(
            name="math500", kind="math", title="MATH-500", hf_id="HuggingFaceH4/MATH-500", hf_config=None,
            split="test", expected_rows=500, packaged=False, local_dirs=("MATH-500",),
            local_files=("test.jsonl", "test-*.parquet", "data/test-*.parquet"),
        ),
        _spec(
            name="olympiadbench", kind="math", title="OlympiadBench (EN, text-only math)",
            hf_id="zwhe99/simplerl-OlympiadBench", hf_config=None, split="test", expected_rows=675,
            packaged=False, local_files=("test.jsonl", "test-*.parquet", "data/test-*.parquet"),
        ),
        _spec(
            name="minerva", kind="math", title="Minerva (MIT OCW, 272 problems)",
            hf_id="zwhe99/simplerl-minerva-math", hf_config=None, split="test", expected_rows=272,
            packaged=False, local_dirs=("minerva_math",),
            local_files=("test.jsonl", "test-*.parquet", "data/test-*.parquet"),
        ),
        _spec(
            name="gsm8k", kind="math", title="GSM8K", hf_id="openai/gsm8k", hf_config="main", split="test",
            expected_rows=1319, packaged=True,
            local_files=("test.jsonl", "main/test-*.parquet", "test-*.parquet"),
        ),
        _spec(
            name="amc23", kind="math", title="AMC23", hf_id="zwhe99/amc23", hf_config=None, split="test",
            expected_rows=40, packaged=False, local_files=("test.jsonl", "test-*.parquet", "data/test-*.parquet"),
        ),
        _spec(
            name="aime24", kind="math", title="AIME 2024", hf_id="HuggingFaceH4/aime_2024", hf_config=None,
            split="train", expected_rows=30, packaged=False,
            local_files=("test.jsonl", "train.jsonl", "train-*.parquet", "data/train-*.parquet"),
        ),
        _spec(
            name="aime25", kind="math", title="AIME 2025 (I+II)", hf_id="math-ai/aime25", hf_config=None,
            split="test", expected_rows=30, packaged=True, local_dirs=("AIME2025",),
            local_files=("aime2025-I*.jsonl", "test.jsonl"),
        ),
        _spec(
            name="mmlu", kind="mcq", title="MMLU (test)", hf_id="cais/mmlu", hf_config="all", split="test",
            expected_rows=14042, packaged=True, local_files=("mmlu.jsonl", "all/test-*.parquet", "test-*.parquet"),
        ),
        _spec(
            name="gpqa_diamond", kind="mcq", title="GPQA-Diamond", hf_id="Idavidrein/gpqa",
            hf_config="gpqa_diamond", split="train", expected_rows=198, packaged=True, local_dirs=("gpqa",),
            local_files=("gpqa_diamond.csv",),
        ),
    )
}


def expected_files(spec: BenchmarkSpec) -> str:
    """Human-readable list of where ``--data-dir`` files are looked for (used in error messages)."""
    dirs = ", ".join(f"<data-dir>/{d}/" for d in spec.dirs) + " (or an HF snapshot folder as <data-dir>)"
    files = " | ".join(spec.local_files)
    text = f"one of [{files}] in {dirs}"
    if spec.fewshot_files:
        text += f"; few-shot split: one of [{' | '.join(spec.fewshot_files)}]"
    return text
