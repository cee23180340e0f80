"""What a benchmark declares (:class:`BenchmarkSpec`), its items (:class:`Sample`) and a loaded copy.

Each benchmark is one module of this package that defines ``BENCHMARK = BenchmarkSpec(...)``:
its name and display name, its kind (which protocol recipe prompts and grades it), the official
dataset (id, split, row count, files), its packaged offline copy if any, and the converter from
the official rows to :class:`Sample`. Row counts are the official ones (``evals.md`` §1–3 and
``offline-assets.md`` §3); a loaded file with another count is rejected unless the caller opts
out (fixtures, deliberate subsets), and the opt-out is recorded in the loaded benchmark's notes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .io import Row

Kind = Literal["mcq", "math", "text"]
KINDS: tuple[Kind, ...] = ("mcq", "math", "text")
# (where the rows came from: a file name or "hf:<id>:<split>", the rows) for each file read
RowFile = tuple[str, list[Row]]


@dataclass(frozen=True)
class Sample:
    """One benchmark item. ``answer`` is the gold letter for MCQ, the gold answer string otherwise.

    ``choices`` holds the options in prompt order (``None`` for open answers); ``category`` is the
    per-category reporting key (MMLU-Pro category, SuperGPQA discipline, BBEH task, ...); ``kind``
    is the benchmark's kind (the loader sets it from the spec; by default an item with choices is
    ``mcq``, one without ``math``); ``meta`` keeps the official fields a protocol may need (e.g. MMLU-Pro
    ``cot_content``, SuperGPQA ``difficulty``).
    """

    id: str
    question: str
    answer: str
    choices: tuple[str, ...] | None = None
    category: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    kind: Kind = "math"

    def __post_init__(self) -> None:
        if self.choices is not None and self.kind == "math":  # the default: an item with options is MCQ
            object.__setattr__(self, "kind", "mcq")
        if (self.choices is not None) != (self.kind == "mcq"):
            raise ValueError(f"sample {self.id!r}: kind {self.kind!r} {'with' if self.choices else 'without'} "
                             "choices (an MCQ item has choices, a math or text item has none)")


Converter = Callable[[Sequence[RowFile]], list[Sample]]


@dataclass(frozen=True)
class PackagedCopy:
    """An offline copy shipped inside an installed distribution (located without importing it).

    ``sha256`` is that of the files as checked (``io.combined_sha256``) in ``checked``
    (``dist==version``); another copy still loads, with a note in the record.
    """

    distribution: str
    module: str
    files: tuple[str, ...]
    sha256: str | None = None
    checked: str = ""


@dataclass(frozen=True)
class BenchmarkSpec:
    """Everything about one benchmark (see the module doc).

    ``local_files``: file-name globs tried, in order, under ``<data_dir>/<dir>`` for each ``dir``
    in ``(name, *local_dirs)`` (and under ``<data_dir>`` itself for distinctive names, or for
    any name when ``<data_dir>`` is an HF snapshot folder);
    every glob that matches contributes its files (sorted), the first glob set that matches wins.
    ``fewshot_files`` is the same for the few-shot pool (MMLU-Pro's validation split).
    ``category_field`` names the official field the per-category breakdown is keyed on.
    ``skip_row`` drops known-bad rows of a copy (counted in the notes as ``skip_reason``).
    ``restricted``: the authors ask that items not be republished, so a run's samples file keeps
    response hashes only. ``extra_metrics`` adds benchmark-specific metrics to a record from its
    per-category scores (BBEH's official harmonic mean).
    """

    name: str
    display: str
    title: str
    kind: Kind
    convert: Converter
    hf_id: str | None
    hf_config: str | None
    split: str
    expected_rows: int | None
    category_field: str | None = None
    packaged: PackagedCopy | None = None
    local_dirs: tuple[str, ...] = ()
    local_files: tuple[str, ...] = ()
    fewshot_split: str | None = None
    fewshot_rows: int | None = None
    fewshot_files: tuple[str, ...] = ()
    hf_revision: str | None = None  # pin here once a revision has been checked
    skip_row: Callable[[Row], bool] | None = None
    skip_reason: str = ""
    restricted: bool = False
    extra_metrics: Callable[[Mapping[str, float]], dict[str, float | None]] | None = None
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


def expected_files(spec: BenchmarkSpec) -> str:
    """Human-readable list of where ``--data-dir`` files are looked for (used in error messages)."""
    dirs = ", ".join(f"<data-dir>/{d}/" for d in spec.dirs) + " (or an HF snapshot folder as <data-dir>)"
    files = " | ".join(spec.local_files)
    text = f"one of [{files}] in {dirs}"
    if spec.fewshot_files:
        text += f"; few-shot split: one of [{' | '.join(spec.fewshot_files)}]"
    return text
