"""The same run in lm-evaluation-harness's results shape, for tools built for lm-eval.

lm-eval 0.4.13 (``EvaluationTracker.save_results_aggregated``) writes one
``<output>/<model_name_sanitized>/results_<date_id>.json`` per run, ``date_id`` being the ISO time
with ``:`` replaced by ``-``; tools find those files by name (``lm_eval.utils.get_results_filenames``,
``get_latest_filename``) and read the keys typed in ``lm_eval.result_schema.EvalResults``.
:func:`to_lmeval` maps the records of one run (one model, one task per benchmark) onto those keys,
with the value types EvalResults declares:

- ``results[task]``: ``name``, ``alias``, ``sample_len`` and ``"<metric>,<filter>"`` keys. The
  filter is the protocol id (its answer extraction is what lm-eval calls a filter); the metrics are
  ``exact_match`` (the record's score: mean@k, each question's k verdicts averaged first) and its
  ``exact_match_stderr``, ``miss_rate``, ``truncation_rate``, ``exact_match_misses_wrong`` and
  BBEH's ``harmonic_mean`` where recorded.
- ``configs[task]``: string facts (dataset source, revision and sha256, protocol and version,
  subset label, generation kwargs in lm-eval's ``key=value,...`` form, our row id).
- ``versions`` (the protocol version), ``n-shot``, ``n-samples`` (``original``: items in the file,
  ``effective``: evaluated), ``higher_is_better``, ``config`` (backend, model args, limit, seed),
  ``git_hash``, ``date`` (UNIX time of the earliest record), ``task_hashes``, ``chat_template_sha``,
  ``model_name``, ``model_name_sanitized``, ``model_source``.

``task_hashes`` follows lm-eval's recipe (sha256 over each sample's doc, prompt and target hashes,
joined); the record keeps no documents, so the sample id's sha256 stands for the doc hash, and the
gold answer's sha256 is the target hash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .schema import ResultsRecord

# The results folder's subfolder for these files: the leaderboard store reads every other *.json.
LMEVAL_DIR = "lm-eval"

HIGHER_IS_BETTER = {"exact_match": True, "exact_match_misses_wrong": True, "harmonic_mean": True,
                    "miss_rate": False, "truncation_rate": False}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sanitize_model_name(name: str) -> str:
    """lm-eval's folder name for a model (``lm_eval.utils.sanitize_model_name``)."""
    return re.sub(r"[\"<>:/|\\?*\[\]]+", "__", name)


def _time(record: ResultsRecord) -> datetime:
    return datetime.fromisoformat(record.created_at.removesuffix("Z")).replace(tzinfo=UTC)


def results_path(out_dir: str | Path, records: Sequence[ResultsRecord]) -> Path:
    """``<out>/lm-eval/<model_name_sanitized>/results_<date_id>.json`` for a run's records."""
    start = min(_time(r) for r in records)
    date_id = start.strftime("%Y-%m-%dT%H-%M-%S")
    return Path(out_dir) / LMEVAL_DIR / sanitize_model_name(records[0].model.name) / f"results_{date_id}.json"


def task_hash(samples: Iterable[Mapping[str, Any]]) -> str:
    """lm-eval's task hash over a record's samples (first generation of each question)."""
    return _sha("".join(_sha(str(s["sample_id"])) + str(s["prompt_hash"]) + _sha(str(s["answer"]))
                        for s in samples if s.get("k_index", 0) == 0))


def _gen_kwargs(r: ResultsRecord) -> str:
    """lm-eval's ``--gen_kwargs`` form: ``key=value`` pairs joined by commas."""
    d = r.decoding
    pairs = {"temperature": d.temperature, "top_p": d.top_p, "max_gen_toks": d.max_new_tokens,
             "do_sample": d.temperature > 0, "repeats": d.k, "seed": d.seed}
    return ",".join(f"{k}={v}" for k, v in pairs.items())


def _results(r: ResultsRecord) -> dict[str, Any]:
    f, m = r.protocol.id, r.metrics
    out: dict[str, Any] = {"name": r.benchmark, "alias": r.benchmark, "sample_len": r.dataset.n_evaluated,
                           f"exact_match,{f}": m.score}
    optional = {"exact_match_stderr": m.stderr, "exact_match_misses_wrong": m.score_misses_wrong,
                "miss_rate": m.miss_rate, "truncation_rate": m.truncation_rate, "harmonic_mean": m.harmonic_mean}
    out.update({f"{k},{f}": v for k, v in optional.items() if v is not None})
    return out


def _config(r: ResultsRecord) -> dict[str, str | bool | None]:
    return {
        "task": r.benchmark, "dataset_path": r.dataset.source, "dataset_revision": r.dataset.revision,
        "dataset_sha256": r.dataset.sha256, "output_type": "generate_until", "protocol": r.protocol.id,
        "protocol_version": str(r.protocol.version), "generation_kwargs": _gen_kwargs(r),
        "chat_template": r.decoding.model_extra.get("chat_template") if r.decoding.model_extra else None,
        "subset": r.subset_label, "pretrainzero_row_id": r.id,
    }


def to_lmeval(records: Sequence[ResultsRecord], *, n_shot: Mapping[str, int] | None = None,
              samples: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> dict[str, Any]:
    """One run's records (one model) as an lm-eval results dict.

    ``n_shot`` maps benchmark -> few-shot examples per prompt (default 0); ``samples`` maps
    benchmark -> the record's sample rows, for ``task_hashes`` (tasks without rows get none).
    """
    if not records:
        raise ValueError("no records to convert")
    models = {r.model.name for r in records}
    if len(models) > 1:
        raise ValueError(f"an lm-eval results file holds one model's run, got {sorted(models)}")
    tasks = [r.benchmark for r in records]
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"one record per benchmark, got {tasks}")
    first = min(records, key=_time)
    cfg = first.config.model_extra or {}
    model_args: dict[str, str | int | float] = {"pretrained": first.model.source}
    if isinstance(cfg.get("dtype"), str):
        model_args["dtype"] = cfg["dtype"]
    config: dict[str, Any] = {"model": first.engine.backend, "model_args": model_args,
                              "batch_size": None if cfg.get("batch_size") is None else str(cfg["batch_size"]),
                              "device": None, "limit": cfg.get("limit"), "gen_kwargs": None}
    if isinstance(cfg.get("seed"), int):
        config["random_seed"] = cfg["seed"]
    if first.model.sha256:
        config["model_sha"] = first.model.sha256
    out: dict[str, Any] = {
        "results": {r.benchmark: _results(r) for r in records},
        "group_subtasks": {t: [] for t in tasks},
        "configs": {r.benchmark: _config(r) for r in records},
        "versions": {r.benchmark: float(r.protocol.version) for r in records},
        "n-shot": {t: int((n_shot or {}).get(t, 0)) for t in tasks},
        "higher_is_better": {r.benchmark: {k.split(",")[0]: HIGHER_IS_BETTER[k.split(",")[0]]
                                           for k in _results(r) if "," in k and "_stderr," not in k}
                             for r in records},
        "n-samples": {r.benchmark: {"original": r.dataset.n_total, "effective": r.dataset.n_evaluated}
                      for r in records},
        "config": config,
        "date": _time(first).timestamp(),
        "task_hashes": {t: task_hash(rows) for t, rows in (samples or {}).items() if t in tasks},
        "chat_template_sha": next((r.engine.chat_template_sha256 for r in records if r.engine.chat_template_sha256),
                                  None),
        "model_source": first.engine.backend,
        "model_name": first.model.name,
        "model_name_sanitized": sanitize_model_name(first.model.name),
    }
    if first.git_commit:
        out["git_hash"] = first.git_commit
    return out
