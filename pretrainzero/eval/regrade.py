"""Re-grade a stored record with the current protocol version, from its stored responses.

No generation: every stored response is extracted and scored again by the protocol's current
code, and the metrics are recomputed. This is only sound when the current version would have
sent the model the same prompts, so each sample's prompt is rebuilt from the benchmark data and
its hash must equal the stored ``prompt_hash``; the data file must be the one the record names
(same sha256). Records whose responses are not stored (restricted benchmarks keep hashes only)
cannot be re-graded and stay valid under their own version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..record import ResultsRecord, parse_record, row_id
from . import cache as gen_cache
from .benchmarks import load_benchmark
from .protocols import get_protocol
from .results import SampleRow, compute_metrics, git_commit, make_row, utc_now


class RegradeError(ValueError):
    """The record cannot be re-graded from what is stored (named in the message)."""


def regrade(record: ResultsRecord, rows: Sequence[Mapping[str, Any]],
            data_dir: str | None = None) -> tuple[ResultsRecord, list[SampleRow]]:
    """The record and sample rows re-scored under the current version of the record's protocol."""
    from .. import __version__

    rid = record.id
    if any(r.get("response") is None for r in rows):
        raise RegradeError(f"{rid}: responses are not stored (only their hashes), so it cannot be re-graded; "
                           "it stays valid under its protocol version")
    protocol = get_protocol(record.protocol.id)
    bench = load_benchmark(record.benchmark, data_dir, check_rows=not record.config.allow_partial, allow_hub=False)
    if record.dataset.sha256 and bench.sha256 != record.dataset.sha256:
        raise RegradeError(f"{rid}: benchmark data {bench.source} has sha256 {bench.sha256[:12]}…, the record "
                           f"was made on {record.dataset.sha256[:12]}…; give the same file with --data-dir")
    by_id = {s.id: s for s in bench.samples}
    samples = []
    for r in rows:
        sample = by_id.get(str(r["sample_id"]))
        if sample is None:
            raise RegradeError(f"{rid}: sample {r['sample_id']!r} is not in {bench.source}")
        prompt_hash = gen_cache.prompt_hash(protocol.build_prompt(sample, bench))
        if prompt_hash != r["prompt_hash"]:
            raise RegradeError(f"{rid}: {protocol.id} v{protocol.version} sends sample {sample.id!r} another prompt "
                               "than the stored run had; regenerate instead of re-grading")
        samples.append(sample)
    seed = record.decoding.seed or 0
    extracted = [protocol.extract(r["response"], s) for r, s in zip(rows, samples, strict=True)]
    verdicts = protocol.score_batch(extracted, samples, seed)
    restricted = bench.spec.restricted
    new_rows = [
        make_row(sample_id=s.id, k_index=int(r["k_index"]), category=s.category, prompt_hash=r["prompt_hash"],
                 response=r["response"], extracted=ex, answer=s.answer, score=sc, missed=miss,
                 finish_reason=r["finish_reason"], n_tokens=int(r["n_tokens"]), restricted=restricted)
        for r, s, ex, (sc, miss) in zip(rows, samples, extracted, verdicts, strict=True)
    ]
    metrics, per_category = compute_metrics(new_rows)
    if bench.spec.extra_metrics is not None:
        metrics.update(bench.spec.extra_metrics({c: v["score"] for c, v in per_category.items()}))
    new_id = row_id(record.model.name, record.benchmark, protocol.id, protocol.version,
                    None if record.subset is None else record.subset.tag)
    note = (f"re-graded {utc_now()} from {rid} (protocol v{record.protocol.version} generations, same prompts) "
            f"with {protocol.id} v{protocol.version}: score {100 * record.metrics.score:.2f} -> "
            f"{100 * metrics['score']:.2f}")
    old = record.to_dict()
    out = {**old, "id": new_id, "protocol": {"id": protocol.id, "version": protocol.version},
           "metrics": {**old["metrics"], **metrics}, "per_category": per_category,
           "samples_file": f"samples/{new_id}.jsonl", "git_commit": git_commit(),
           "versions": {**old["versions"], "pretrainzero": __version__},
           "notes": " | ".join(x for x in (record.notes, note) if x)}
    return parse_record(out), new_rows
