"""The benchmark registry: every module of this package that defines ``BENCHMARK`` is one benchmark.

Adding a benchmark is one new module here (spec, converter, packaged copy, display name) plus its
entry in the protocols that evaluate it. Code outside the package registers a spec with
:func:`register_benchmark`, or a module file with :func:`load_benchmark_module`.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from .spec import KINDS, BenchmarkSpec

BENCHMARKS: dict[str, BenchmarkSpec] = {}
_BUILTIN: dict[str, BenchmarkSpec] = {}


def register_benchmark(spec: BenchmarkSpec, *, replace: bool = False) -> BenchmarkSpec:
    """Make ``spec`` loadable by name; an existing name needs ``replace=True``."""
    if not isinstance(spec, BenchmarkSpec):
        raise TypeError(f"register_benchmark takes a BenchmarkSpec, got {type(spec).__name__}")
    if spec.kind not in KINDS:
        raise ValueError(f"benchmark {spec.name!r}: kind {spec.kind!r} is not one of {', '.join(KINDS)}")
    if not spec.name or not spec.name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"benchmark name {spec.name!r}: use letters, digits, '_' and '-'")
    if spec.name in BENCHMARKS and not replace and BENCHMARKS[spec.name] is not spec:
        raise ValueError(f"benchmark {spec.name!r} is already registered (pass replace=True to replace it)")
    BENCHMARKS[spec.name] = spec
    return spec


def unregister_benchmark(name: str) -> None:
    """Remove ``name``; a replaced built-in benchmark comes back."""
    BENCHMARKS.pop(name, None)
    if name in _BUILTIN:
        BENCHMARKS[name] = _BUILTIN[name]


def load_benchmark_module(path: str | Path) -> BenchmarkSpec:
    """Import the ``.py`` file at ``path`` and register its ``BENCHMARK``."""
    from ...plugins import load_object

    spec = load_object(f"{Path(path).expanduser()}:BENCHMARK", "benchmark module")
    if not isinstance(spec, BenchmarkSpec):
        raise ValueError(f"{path}: defines no BENCHMARK = BenchmarkSpec(...)")
    return register_benchmark(spec, replace=True)


def discover_builtin() -> None:
    """Register every module of this package that defines ``BENCHMARK`` (sorted by module name)."""
    package = __name__.rpartition(".")[0]
    for info in sorted(pkgutil.iter_modules(importlib.import_module(package).__path__), key=lambda m: m.name):
        spec = getattr(importlib.import_module(f"{package}.{info.name}"), "BENCHMARK", None)
        if isinstance(spec, BenchmarkSpec):
            if spec.name != info.name:
                raise ImportError(f"{package}.{info.name} defines benchmark {spec.name!r}; name the module after it")
            _BUILTIN[spec.name] = register_benchmark(spec)
