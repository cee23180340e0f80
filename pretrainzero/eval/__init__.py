"""Evaluation harness: benchmarks × protocols → per-sample verdicts → aggregates.

Data and protocol half (this package's pure parts): :mod:`.benchmarks` (one module per benchmark,
their registry, the loader), :mod:`.protocols` (frozen, versioned recipes, by benchmark kind),
:mod:`.extract` (answer extractors), :mod:`.grade` (Math-Verify in a process pool, BBEH fuzzy
match), :mod:`.aggregate` (mean@k, stderr, Math AVG, Overall AVG). Nothing here imports torch or
a model backend.
"""

from __future__ import annotations

from .aggregate import MATH_AVG, OVERALL, math_avg, mean_at_k, mean_stderr, overall_avg, pass_at_k
from .benchmarks import (
    BENCHMARKS,
    BenchmarkDataError,
    BenchmarkSpec,
    LoadedBenchmark,
    Sample,
    expected_files,
    get_spec,
    load_benchmark,
)
from .grade import grade_bbeh, grade_math, grade_math_batch
from .protocols import PROTOCOLS, Decoding, Protocol, get_protocol, seeded_letter

__all__ = [
    "BENCHMARKS",
    "MATH_AVG",
    "OVERALL",
    "PROTOCOLS",
    "BenchmarkDataError",
    "BenchmarkSpec",
    "Decoding",
    "LoadedBenchmark",
    "Protocol",
    "Sample",
    "expected_files",
    "get_protocol",
    "get_spec",
    "grade_bbeh",
    "grade_math",
    "grade_math_batch",
    "load_benchmark",
    "math_avg",
    "mean_at_k",
    "mean_stderr",
    "overall_avg",
    "pass_at_k",
    "seeded_letter",
]
