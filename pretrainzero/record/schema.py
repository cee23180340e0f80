"""The results record as frozen, strict pydantic models, and its one validator.

One JSON file per (model, benchmark, protocol version) evaluation. Types, ranges and closed
sections are declared on the fields (strict: ``"0.3"`` is not 0.3, ``true`` is not 1, NaN is not
a score; open sections keep fields they do not name). What spans fields is the table
:data:`RULES`; what needs the package's registries (protocol versions and coverage, official row
counts, packaged sha256) is the table :data:`REGISTRY_RULES`, checked against a
:class:`Registry` of facts that the caller builds (the record knows no benchmark itself, so it
stays below both ``pretrainzero.eval``, which writes records, and ``pretrainzero.leaderboard``,
which reads them). :func:`validate_record` runs all of it and names the field of every problem.

Scores are raw fractions in [0, 1] (as lm-eval stores them), displayed as percentages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from .ids import row_id, slug, subset_tag

SCHEMA_VERSION = 1
SOURCES = ("measured", "imported")

_CLOSED = ConfigDict(strict=True, frozen=True, extra="forbid", allow_inf_nan=False)
_OPEN = ConfigDict(strict=True, frozen=True, extra="allow", allow_inf_nan=False)


def _sluggable(name: str) -> str:
    slug(name)  # raises ValueError when no character of the name survives into a row id
    return name


def _relative(path: str) -> str:
    if not path or path.startswith(("/", "\\")) or ".." in path.split("/"):
        raise ValueError("expected a relative path without '..'")
    return path


def _utc_time(text: str) -> str:
    try:
        datetime.fromisoformat(text.removesuffix("Z") + "+00:00")
        ok = text.endswith("Z")
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("expected an ISO-8601 UTC time like '2026-11-25T22:00:00Z'")
    return text


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[int, Field(ge=1)]
Text = Annotated[str, Field(pattern=r"\S")]  # not blank
BenchmarkId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$")]
ProtocolId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
GitCommit = Annotated[str, Field(pattern=r"^[0-9a-f]{7,40}(-dirty)?$")]


class ModelInfo(BaseModel):
    model_config = _CLOSED
    name: Annotated[Text, AfterValidator(_sluggable)]
    source: str  # hub id, alias, or a path (then ``local_only`` says nobody else can load it)
    sha256: str | None
    local_only: bool = False


class Subset(BaseModel):
    """Present whenever fewer than all items, or a partial/custom file, were evaluated."""

    model_config = _CLOSED
    limit: Positive
    label: Text
    seed: int | None = None  # the stratified selection's seed (``--subset-seed``)
    partial: bool = False  # a partial or custom file (``--allow-partial``), not a selection from the full one

    @property
    def tag(self) -> str:
        """The row id's suffix: ``first100``, ``n100-seed7`` or ``partial12``."""
        return subset_tag(self.limit, seed=self.seed, partial=self.partial)


class ProtocolRef(BaseModel):
    model_config = _CLOSED
    id: ProtocolId
    version: Positive


class RunConfig(BaseModel):
    """The run's config as ``pretrainzero.eval.runner.run_eval`` takes it (replayed by ``reproduce``)."""

    model_config = _OPEN
    model: str
    benchmarks: list[str]
    protocol: str
    allow_partial: bool = False
    protocol_deviations: list[str] = Field(default_factory=list)


class DatasetInfo(BaseModel):
    model_config = _CLOSED
    source: str
    revision: str | None
    sha256: str | None
    n_total: Positive
    n_evaluated: Positive


class DecodingInfo(BaseModel):
    model_config = _OPEN
    temperature: NonNegative
    top_p: Fraction
    max_new_tokens: Positive
    k: Positive
    seed: int | None


class EngineInfo(BaseModel):
    model_config = _OPEN
    backend: str
    versions: dict[str, str]
    chat_template_sha256: str | None = None  # of the template the prompts were rendered with, where known


class Versions(BaseModel):
    model_config = _OPEN
    pretrainzero: str
    python: str


class Metrics(BaseModel):
    """``score`` is mean@k over questions; the rates are over generations (null when unknown)."""

    model_config = _OPEN
    score: Fraction
    stderr: NonNegative | None
    miss_rate: Fraction | None
    truncation_rate: Fraction | None
    score_misses_wrong: Fraction | None = None
    n_questions: Positive | None = None
    n_generations: Positive | None = None
    k: Positive | None = None
    mean_new_tokens: NonNegative | None = None
    harmonic_mean: Fraction | None = None  # BBEH's official headline over its tasks


class CategoryScore(BaseModel):
    model_config = _OPEN
    score: Fraction
    n: Annotated[int, Field(ge=0)]


class ResultsRecord(BaseModel):
    """One evaluation: what was run, on which data, how, and what it scored."""

    model_config = _CLOSED
    schema_version: Literal[1]  # SCHEMA_VERSION; a bump adds its own model and keeps version-1 records valid
    id: Text
    model: ModelInfo
    benchmark: BenchmarkId
    subset: Subset | None
    protocol: ProtocolRef
    config: RunConfig
    dataset: DatasetInfo
    decoding: DecodingInfo
    engine: EngineInfo
    versions: Versions
    git_commit: GitCommit | None
    metrics: Metrics
    per_category: dict[str, CategoryScore]
    samples_file: Annotated[str, AfterValidator(_relative)] | None
    created_at: Annotated[str, AfterValidator(_utc_time)]
    source: Literal["measured", "imported"]
    # Overrides the 2x-combined-stderr rule of `leaderboard reproduce` (a fraction).
    tolerance: Fraction | None = None
    notes: str | None = None  # free text kept with the record, shown nowhere

    @property
    def expected_id(self) -> str:
        return row_id(self.model.name, self.benchmark, self.protocol.id, self.protocol.version,
                      None if self.subset is None else self.subset.tag)

    @property
    def accepted_ids(self) -> tuple[str, ...]:
        """The expected id and the ids older records carry, so they stay valid: a subset record's id
        without the subset tag, and, for protocol version 1, the id before versions joined it."""
        legacy = [row_id(self.model.name, self.benchmark, self.protocol.id, self.protocol.version)]
        if self.protocol.version == 1:
            legacy.append(row_id(self.model.name, self.benchmark, self.protocol.id))
        return tuple(dict.fromkeys([self.expected_id, *legacy]))

    @property
    def subset_label(self) -> str | None:
        return None if self.subset is None else self.subset.label

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON data: the fields it was given (optional ones left out when unset)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def problems(self, registry: Registry | None = None) -> list[str]:
        """Every cross-field rule (and, given a registry, every registry rule) this record breaks."""
        rules = RULES + (REGISTRY_RULES if registry is not None else ())
        return [f"{r.path}: {r.says(self, registry)}" for r in rules if not r.holds(self, registry)]


def json_schema() -> dict[str, Any]:
    """The record's structure as JSON Schema (draft 2020-12), for tools outside Python.

    It carries the types, ranges, patterns, closed sections and required fields of the models
    above; the cross-field rules (:data:`RULES`), the registry rules and three string checks
    (UTC ``created_at``, relative ``samples_file``, a model name that makes a row id) exist only in
    :func:`validate_record`, so a file that passes this schema can still be refused by ``submit``.
    ``leaderboards/schema/`` holds the committed copy (``pretrainzero leaderboard schema``).
    """
    schema = ResultsRecord.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$comment": f"pretrainzero results record, schema_version {SCHEMA_VERSION}; generated from "
                        "pretrainzero.record.schema.ResultsRecord (structure only: `leaderboard submit` "
                        "also checks cross-field and registry rules)",
            **schema}


# ---- facts the record is checked against, supplied by the caller ------------------------------


@dataclass(frozen=True)
class ProtocolFacts:
    versions: tuple[int, ...]  # every version it has had; records of each stay valid
    benchmarks: tuple[str, ...]  # the benchmarks it covers


@dataclass(frozen=True)
class BenchmarkFacts:
    expected_rows: int | None  # the official row count, None where there is none
    packaged: Callable[[], tuple[str, str] | None]  # (source, sha256) of an installed copy, computed on demand


@dataclass(frozen=True)
class Registry:
    """The protocols and benchmarks a record may name (``pretrainzero.eval.registry.registry``)."""

    protocols: Mapping[str, ProtocolFacts]
    benchmarks: Mapping[str, BenchmarkFacts]


# ---- rules: (field path, holds, what to say when it does not) ------------------------------------


@dataclass(frozen=True)
class Rule:
    path: str
    holds: Callable[[ResultsRecord, Any], bool]
    says: Callable[[ResultsRecord, Any], str]


def _n(r: ResultsRecord) -> str:
    return f"{r.dataset.n_evaluated} of {r.dataset.n_total}"


RULES: tuple[Rule, ...] = (
    Rule("id", lambda r, _: r.id in r.accepted_ids,
         lambda r, _: (f"expected {r.expected_id!r} (slug(model)__benchmark__protocol-v<version>[__subset]), "
                       f"got {r.id!r}")),
    Rule("dataset.n_evaluated", lambda r, _: r.dataset.n_evaluated <= r.dataset.n_total,
         lambda r, _: f"{r.dataset.n_evaluated} exceeds dataset.n_total {r.dataset.n_total}"),
    # Partial data must never pass for a full-benchmark number.
    Rule("subset", lambda r, _: r.subset is not None or r.dataset.n_evaluated == r.dataset.n_total,
         lambda r, _: f"null (a full run) but only {_n(r)} items were evaluated; give {{'limit': N, 'label': '...'}}"),
    Rule("subset", lambda r, _: r.subset is not None or not r.config.allow_partial,
         lambda r, _: "null but the run used a partial/custom file (--allow-partial)"),
    Rule("config.benchmarks", lambda r, _: r.benchmark in r.config.benchmarks,
         lambda r, _: f"{r.config.benchmarks!r} does not contain benchmark {r.benchmark!r}"),
    Rule("config.protocol", lambda r, _: r.config.protocol == r.protocol.id,
         lambda r, _: f"{r.config.protocol!r} differs from protocol.id {r.protocol.id!r}"),
)


def _protocol(r: ResultsRecord, g: Registry) -> ProtocolFacts | None:
    return g.protocols.get(r.protocol.id)


def _bench(r: ResultsRecord, g: Registry) -> BenchmarkFacts | None:
    return g.benchmarks.get(r.benchmark)


def _covered(r: ResultsRecord, g: Registry) -> bool:
    p = _protocol(r, g)
    return p is None or _bench(r, g) is None or r.benchmark in p.benchmarks


def _row_count_holds(r: ResultsRecord, g: Registry) -> bool:
    b = _bench(r, g)
    return b is None or b.expected_rows in (None, r.dataset.n_total) or r.config.allow_partial


def _sha_holds(r: ResultsRecord, g: Registry) -> bool:
    b = _bench(r, g)
    copy = b.packaged() if b is not None else None
    return copy is None or r.dataset.source != copy[0] or r.dataset.sha256 == copy[1]


# A known dataset's row count and a packaged copy's sha256 are facts of this package, not claims.
REGISTRY_RULES: tuple[Rule, ...] = (
    Rule("protocol.id", lambda r, g: _protocol(r, g) is not None,
         lambda r, g: f"unknown protocol {r.protocol.id!r} (known: {', '.join(sorted(g.protocols))})"),
    Rule("protocol.version", lambda r, g: (p := _protocol(r, g)) is None or r.protocol.version in p.versions,
         lambda r, g: f"{r.protocol.id} has no version {r.protocol.version} "
                      f"(versions: {', '.join(map(str, g.protocols[r.protocol.id].versions))})"),
    Rule("benchmark", lambda r, g: _bench(r, g) is not None,
         lambda r, g: f"unknown benchmark {r.benchmark!r} (known: {', '.join(sorted(g.benchmarks))})"),
    Rule("benchmark", _covered,
         lambda r, g: f"protocol {r.protocol.id} does not cover {r.benchmark} "
                      f"(it covers {', '.join(g.protocols[r.protocol.id].benchmarks)})"),
    Rule("dataset.n_total", _row_count_holds,
         lambda r, g: f"{r.benchmark} has {g.benchmarks[r.benchmark].expected_rows} items, the record says "
                      f"{r.dataset.n_total} (a partial or custom file must be run with --allow-partial)"),
    Rule("dataset.sha256", _sha_holds,
         lambda r, g: f"{r.dataset.sha256!r} is not the sha256 of {r.dataset.source} "
                      f"({g.benchmarks[r.benchmark].packaged()[1]})"),
)


# ---- the validator -------------------------------------------------------------------------------


class RecordError(ValueError):
    """A record that breaks the schema or a rule; ``problems`` has one ``field: problem`` line each."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _line(err: Mapping[str, Any]) -> str:
    path = ".".join(str(p) for p in err["loc"]) or "record"
    if err["type"] == "missing":
        return f"{path}: missing"
    if err["type"] == "extra_forbidden":
        return f"{path}: unknown field"
    got = repr(err["input"])
    return f"{path}: {err['msg'].removeprefix('Value error, ')}, got {got if len(got) <= 80 else got[:77] + '...'}"


def parse_record(data: Any, registry: Registry | None = None) -> ResultsRecord:
    """``data`` (a JSON object) as a :class:`ResultsRecord`; :class:`RecordError` naming every problem."""
    try:
        record = ResultsRecord.model_validate(data)
    except ValidationError as exc:
        raise RecordError([_line(e) for e in exc.errors()]) from None
    problems = record.problems(registry)
    if problems:
        raise RecordError(problems)
    return record


def validate_record(data: Any, registry: Registry | None = None) -> list[str]:
    """Every problem of ``data`` as a results record, each starting with its dotted field path
    (``metrics.score: Input should be less than or equal to 1, got 1.5``); empty when valid."""
    try:
        parse_record(data, registry)
    except RecordError as exc:
        return exc.problems
    return []
