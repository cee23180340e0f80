"""What ``leaderboard submit`` checks beyond the record's own rules.

The record must agree with the eval harness's registries
(:func:`pretrainzero.eval.registry.registry`: protocol versions and coverage, official row
counts, packaged dataset sha256s). A model given as a path exists only on the submitter's machine
unless the row is marked so; that is submission policy, not record validity (the eval harness
writes records of local checkpoints all the time).
"""

from __future__ import annotations

from pathlib import Path

from pretrainzero.record import ResultsRecord


def is_local_path(source: str) -> bool:
    """A model source that names a folder on some machine (absolute, ``./``, ``~``) rather than a hub id or alias."""
    return source.startswith(("/", "./", "../", "~", "\\")) or (len(source) > 2 and source[1] == ":")


def submission_problems(record: ResultsRecord) -> list[str]:
    """Every way ``record`` contradicts the registries, or names a model nobody else can load."""
    from pretrainzero.eval.registry import registry  # lazily: reading records needs no benchmark code

    problems = record.problems(registry())
    if is_local_path(record.model.source) and not record.model.local_only:
        problems.append(f"model.source: {record.model.source!r} is a path on the submitter's machine, so nobody "
                        "else can reproduce the row; give a hub id, or submit with --local-model to mark it local-only")
    return problems


def local_model_problem(record: ResultsRecord) -> str | None:
    """Why ``reproduce`` cannot load this record's model here, or None."""
    source = record.model.source
    if is_local_path(source) and not Path(source).expanduser().exists():
        mark = " (the row is marked local-only)" if record.model.local_only else ""
        return f"model {source!r} exists only on the submitter's machine{mark}; {record.id} cannot be reproduced here"
    return None
