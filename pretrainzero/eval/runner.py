"""The eval runner: benchmark × protocol × backend → per-generation cache → scored rows → records.

``run_eval(config, out_dir)`` is the one entry point a stored record can be reproduced with: the
record's ``config`` holds every input that changes the number (model, benchmark, protocol,
backend, limit, k, seed, max new tokens, dtype, endpoint), and nothing machine-specific that
does not (threads, progress bars, cache location).

Overrides that leave the protocol (a smaller ``max_new_tokens`` or ``k`` for CPU runs) are written
to ``config.protocol_deviations`` and the record's ``notes`` so such a row is never mistaken for a
full-protocol number; ``--limit`` is recorded as ``subset``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..progress import Progress
from ..record import ResultsRecord, row_id, subset_tag
from . import cache as gen_cache
from .backends import BACKENDS, Backend, BackendConfig, GenParams, make_backend
from .benchmarks import LoadedBenchmark, Sample, load_benchmark
from .protocols import Decoding, Protocol, get_protocol
from .results import (
    SampleRow,
    build_record,
    chat_template_sha256,
    compute_metrics,
    make_row,
    n_shot,
    write_lmeval,
    write_results,
)

CONFIG_KEYS: tuple[str, ...] = (
    "model", "model_name", "benchmarks", "protocol", "backend", "limit", "seed", "k", "max_new_tokens",
    "batch_size", "dtype", "data_dir", "base_url", "route", "subset_seed", "allow_partial",
)
DEFAULTS: dict[str, Any] = {
    "model_name": None, "backend": "transformers", "limit": None, "seed": None, "k": None,
    "max_new_tokens": None, "batch_size": 32, "dtype": "float32", "data_dir": None, "base_url": None,
    "route": "auto", "subset_seed": None, "allow_partial": False,
}
# Derived fields a stored config may carry; recomputed on every run, never taken as input.
DERIVED_KEYS: tuple[str, ...] = ("protocol_deviations",)


def normalize_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Fill defaults and check types; unknown keys are an error (a typo must not be ignored)."""
    unknown = sorted(set(config) - set(CONFIG_KEYS) - set(DERIVED_KEYS))
    if unknown:
        raise ValueError(f"unknown eval config keys: {', '.join(unknown)}")
    cfg = {**DEFAULTS, **{k: v for k, v in config.items() if k not in DERIVED_KEYS}}
    if not cfg.get("model"):
        raise ValueError("config needs 'model'")
    if not cfg.get("protocol"):
        raise ValueError("config needs 'protocol'")
    benches = cfg.get("benchmarks")
    if isinstance(benches, str):
        benches = [b.strip() for b in benches.split(",") if b.strip()]
    if not benches:
        raise ValueError("config needs at least one benchmark")
    cfg["benchmarks"] = list(benches)
    if cfg["backend"] not in BACKENDS:
        raise ValueError(f"unknown backend {cfg['backend']!r}; choose one of {', '.join(BACKENDS)}")
    for key in ("limit", "k", "max_new_tokens", "batch_size"):
        if cfg[key] is not None and (not isinstance(cfg[key], int) or cfg[key] < 1):
            raise ValueError(f"{key} must be a positive integer, got {cfg[key]!r}")
    if cfg["subset_seed"] is not None:
        if not isinstance(cfg["subset_seed"], int) or isinstance(cfg["subset_seed"], bool):
            raise ValueError(f"subset_seed must be an integer, got {cfg['subset_seed']!r}")
        if cfg["limit"] is None:
            raise ValueError("subset_seed needs limit "
                             "(it draws a seeded, category-stratified sample of limit questions)")
    if not isinstance(cfg["allow_partial"], bool):
        raise ValueError(f"allow_partial must be true or false, got {cfg['allow_partial']!r}")
    return cfg


def model_display_name(cfg: Mapping[str, Any]) -> str:
    """The row's model name: explicit ``model_name``, else the alias/id, else a directory's name."""
    if cfg.get("model_name"):
        return str(cfg["model_name"])
    from ..models import SMOLLM2_ALIAS

    model = str(cfg["model"])
    if model == SMOLLM2_ALIAS:
        return "SmolLM2-135M-Instruct"
    p = Path(model)
    return p.name if p.exists() else model


def effective_decoding(protocol: Protocol, benchmark: str, cfg: Mapping[str, Any]) -> tuple[Decoding, list[str]]:
    """The protocol's decoding with the run's overrides, and the overrides that deviate from it."""
    base = protocol.decoding(benchmark)
    dec = base
    deviations: list[str] = []
    if cfg.get("max_new_tokens") is not None and cfg["max_new_tokens"] != base.max_new_tokens:
        dec = replace(dec, max_new_tokens=int(cfg["max_new_tokens"]))
        deviations.append(f"max_new_tokens={dec.max_new_tokens} (protocol: {base.max_new_tokens})")
    if cfg.get("k") is not None and cfg["k"] != base.k:
        dec = replace(dec, k=int(cfg["k"]))
        deviations.append(f"k={dec.k} (protocol: {base.k})")
    if cfg.get("seed") is not None:
        dec = replace(dec, seed=int(cfg["seed"]))  # the protocol allows a recorded seed override
    return dec, deviations


def generation_seed(run_seed: int, sample_id: str, k_index: int) -> int:
    """Per-generation seed, independent of order, batching and --limit."""
    digest = hashlib.sha256(f"{run_seed}|{sample_id}|{k_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


# TIGER-Lab's evaluate_from_local.py runs with max_model_len 4096 and drops shots while the prompt
# has >= max_model_len - max_new_tokens tokens.
MMLU_PRO_MAX_MODEL_LEN = 4096


def build_prompts(protocol: Protocol, samples: list[Any], bench: LoadedBenchmark, backend: Backend,
                  max_new_tokens: int) -> list[Any]:
    """Prompts of ``samples``; for few-shot protocols with a token budget, shots are dropped one at
    a time while the prompt has ``>= 4096 - max_new_tokens`` tokens (``max_new_tokens``: the run's
    effective budget, override included; needs a backend that can count tokens)."""
    prompts = [protocol.build_prompt(s, bench) for s in samples]
    count = getattr(backend, "count_tokens", None)
    n_shots = getattr(protocol, "n_shots", None)
    if count is None or n_shots is None:
        return prompts
    budget = MMLU_PRO_MAX_MODEL_LEN - max_new_tokens
    for i, s in enumerate(samples):
        n = n_shots
        while n > 0 and count(prompts[i]) >= budget:
            n -= 1
            prompts[i] = protocol.build_prompt(s, bench, n_shots=n)  # type: ignore[call-arg]
    return prompts


def select_samples(samples: Sequence[Sample], limit: int | None, subset_seed: int | None) -> list[Sample]:
    """The questions a run evaluates: all; the first ``limit``; or, with ``subset_seed``, a seeded
    category-stratified sample of ``limit`` (each category gets its share, largest remainders
    first; within a category the order is a sha256 of seed and sample id), kept in file order."""
    if limit is None or limit >= len(samples):
        return list(samples)
    if subset_seed is None:
        return list(samples[:limit])
    by_cat: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        by_cat.setdefault(s.category or "", []).append(i)
    n = len(samples)
    quotas = {c: limit * len(ix) / n for c, ix in by_cat.items()}
    take = {c: int(q) for c, q in quotas.items()}
    for c in sorted(quotas, key=lambda c: (-(quotas[c] - take[c]), c))[: limit - sum(take.values())]:
        take[c] += 1

    def rank(i: int) -> str:
        return hashlib.sha256(f"{subset_seed}|{samples[i].id}".encode()).hexdigest()

    chosen = sorted(i for c, ix in by_cat.items() for i in sorted(ix, key=rank)[: take[c]])
    return [samples[i] for i in chosen]


def _subset(n_eval: int, n_total: int, limit: int | None, subset_seed: int | None,
            partial_file: bool) -> dict[str, Any] | None:
    if partial_file:
        return {"limit": n_eval, "label": f"partial/custom file ({n_eval} questions; official count differs)",
                "partial": True}
    if limit is None or n_eval >= n_total:
        return None
    if subset_seed is not None:
        return {"limit": int(limit), "label": f"{n_eval} of {n_total}, stratified by category, seed {subset_seed}",
                "seed": int(subset_seed)}
    return {"limit": int(limit), "label": f"first {n_eval} of {n_total}"}


def _backend_config(cfg: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> BackendConfig:
    opts = dict(extra or {})
    return BackendConfig(name=cfg["backend"], model=str(cfg["model"]), dtype=cfg["dtype"],
                         batch_size=int(cfg["batch_size"]), base_url=cfg.get("base_url"),
                         route=cfg.get("route") or "auto",
                         api_key_env=opts.pop("api_key_env", "OPENAI_API_KEY"),
                         concurrency=int(opts.pop("concurrency", 8)), max_retries=int(opts.pop("max_retries", 5)),
                         timeout_s=float(opts.pop("timeout_s", 600.0)), extra=opts)


def evaluate_benchmark(cfg: Mapping[str, Any], benchmark: str, backend: Backend, out_dir: str | os.PathLike[str],
                       *, cache_dir: str | os.PathLike[str] | None = None, progress: bool = False,
                       loaded: LoadedBenchmark | None = None, chunk: int | None = None,
                       log: Callable[[str], None] | None = None) -> ResultsRecord:
    """Evaluate one benchmark with a ready backend; writes and returns its record."""
    protocol = get_protocol(cfg["protocol"])
    if not protocol.supports(benchmark):
        raise ValueError(f"protocol {protocol.id!r} does not cover benchmark {benchmark!r} "
                         f"(it covers {', '.join(protocol.benchmarks)})")
    bench = loaded if loaded is not None else load_benchmark(benchmark, cfg.get("data_dir"),
                                                             check_rows=not cfg.get("allow_partial"))
    samples = select_samples(bench.samples, cfg.get("limit"), cfg.get("subset_seed"))
    decoding, deviations = effective_decoding(protocol, benchmark, cfg)
    name = model_display_name(cfg)
    subset = _subset(len(samples), len(bench.samples), cfg.get("limit"), cfg.get("subset_seed"),
                     partial_file=(bench.spec.expected_rows is not None
                                   and len(bench.samples) != bench.spec.expected_rows))
    # The cache is shared by full and subset runs (same generation keys); the record id is not.
    base_id = row_id(name, benchmark, protocol.id, protocol.version)
    rid = row_id(name, benchmark, protocol.id, protocol.version,
                 None if subset is None else subset_tag(subset["limit"], seed=subset.get("seed"),
                                                        partial=subset.get("partial", False)))
    info = backend.model_info()

    prompts = build_prompts(protocol, samples, bench, backend, decoding.max_new_tokens)
    hashes = [gen_cache.prompt_hash(p) for p in prompts]
    prompt_texts = [json.dumps(p) for p in prompts]
    dec_key = {"temperature": decoding.temperature, "top_p": decoding.top_p,
               "max_new_tokens": decoding.max_new_tokens, "stop": list(decoding.stop), "seed": decoding.seed}
    model_key = f"{cfg['backend']}|{info.get('source')}|{info.get('sha256')}|{cfg['dtype']}"
    cache_path = Path(cache_dir or Path(out_dir) / "cache") / f"{base_id}.jsonl"
    cached = gen_cache.load(cache_path)

    # Every (question, sample index) pair is one generation with its own seed and cache key.
    items = [(i, j, gen_cache.generation_key(s.id, hashes[i], dec_key, j, model_key))
             for i, s in enumerate(samples) for j in range(decoding.k)]
    # Longest prompts first, then one backend batch per chunk: batches stay length-sorted across
    # the whole run and each finished batch is on disk before the next one starts.
    todo = sorted((it for it in items if it[2] not in cached), key=lambda it: -len(prompt_texts[it[0]]))
    if log:
        log(f"{rid}: {len(items)} generations, {len(items) - len(todo)} cached, {len(todo)} to generate")
    params = GenParams(temperature=decoding.temperature, top_p=decoding.top_p,
                       max_new_tokens=decoding.max_new_tokens, stop=tuple(decoding.stop))
    # a bar on a terminal, log lines otherwise; --no-progress leaves the per-chunk lines below
    bar = Progress(len(todo), benchmark, mode="auto" if progress else "off", log=log, unit="gen")
    step = chunk or max(1, int(cfg["batch_size"]))
    try:
        for start in range(0, len(todo), step):
            part = todo[start:start + step]
            gens = backend.generate([prompts[i] for i, _, _ in part], params,
                                    [generation_seed(decoding.seed, samples[i].id, j) for i, j, _ in part],
                                    progress=bar.update)
            entries = [gen_cache.CachedGeneration(key, g.text, g.finish_reason, g.n_tokens)
                       for (_, _, key), g in zip(part, gens, strict=True)]
            gen_cache.append(cache_path, entries)
            cached.update({e.key: e for e in entries})
            if log and not progress:
                log(f"{rid}: {min(start + step, len(todo))}/{len(todo)} generated")
    finally:
        bar.close()

    responses = [cached[key] for _, _, key in items]
    extracted = [protocol.extract(r.text, samples[i]) for (i, _, _), r in zip(items, responses, strict=True)]
    verdicts = protocol.score_batch(extracted, [samples[i] for i, _, _ in items], decoding.seed)
    restricted = bench.spec.restricted
    rows: list[SampleRow] = [
        make_row(sample_id=samples[i].id, k_index=j, category=samples[i].category, prompt_hash=hashes[i],
                 response=r.text, extracted=ex, answer=samples[i].answer, score=sc, missed=miss,
                 finish_reason=r.finish_reason, n_tokens=r.n_tokens, restricted=restricted)
        for (i, j, _), r, ex, (sc, miss) in zip(items, responses, extracted, verdicts, strict=True)
    ]
    metrics, per_category = compute_metrics(rows)
    if bench.spec.extra_metrics is not None:
        metrics.update(bench.spec.extra_metrics({c: v["score"] for c, v in per_category.items()}))

    config = {key: cfg.get(key) for key in CONFIG_KEYS if key not in ("benchmarks",)}
    config["benchmarks"] = [benchmark]
    config["seed"] = decoding.seed
    config["k"] = decoding.k
    config["max_new_tokens"] = decoding.max_new_tokens
    if not config.get("model_name"):
        config.pop("model_name")
    if cfg["backend"] != "openai":
        config.pop("base_url")
        config.pop("route")
    for key in ("subset_seed", "allow_partial"):  # recorded only when used
        if not config.get(key):
            config.pop(key)
    config["protocol_deviations"] = deviations
    notes_parts = []
    if deviations:
        notes_parts.append("deviates from protocol: " + "; ".join(deviations))
    notes_parts.extend(bench.notes)
    record = build_record(
        row_id=rid,
        model={"name": name, "source": str(cfg["model"]), "sha256": info.get("sha256")},
        benchmark=benchmark,
        subset=subset,
        protocol={"id": protocol.id, "version": protocol.version},
        config=config,
        dataset={"source": bench.source, "revision": bench.revision, "sha256": bench.sha256,
                 "n_total": len(bench.samples), "n_evaluated": len(samples)},
        decoding={"temperature": decoding.temperature, "top_p": decoding.top_p,
                  "max_new_tokens": decoding.max_new_tokens, "k": decoding.k, "seed": decoding.seed,
                  "stop": list(decoding.stop), "chat_template": protocol.chat_template},
        engine={"backend": cfg["backend"], "versions": backend.versions(),
                "chat_template_sha256": chat_template_sha256(backend, protocol.chat_template)},
        metrics=metrics,
        per_category=per_category,
        samples_file=f"samples/{rid}.jsonl",
        notes=" | ".join(notes_parts) or None,
    )
    write_results(record, rows, out_dir)
    return record


def run_evals(config: Mapping[str, Any], out_dir: str | os.PathLike[str], *, backend: Backend | None = None,
              cache_dir: str | os.PathLike[str] | None = None, progress: bool = False,
              backend_options: Mapping[str, Any] | None = None,
              log: Callable[[str], None] | None = None, lm_eval: bool = True) -> list[dict[str, Any]]:
    """Evaluate every benchmark of ``config`` with one backend; one record per benchmark.

    Benchmarks and the protocol are checked (and data loaded) before the model is, so a typo or
    a missing file fails in a second, not after a minute of model loading. With ``lm_eval`` the
    run is also written in lm-evaluation-harness's results shape (:func:`.results.write_lmeval`).
    """
    cfg = normalize_config(config)
    protocol = get_protocol(cfg["protocol"])
    loaded = []
    for b in cfg["benchmarks"]:
        if not protocol.supports(b):
            from .benchmarks import get_spec

            get_spec(b)  # unknown benchmark → its own clear error first
            raise ValueError(f"protocol {protocol.id!r} does not cover benchmark {b!r} "
                             f"(it covers {', '.join(protocol.benchmarks)})")
        loaded.append(load_benchmark(b, cfg.get("data_dir"), check_rows=not cfg["allow_partial"]))
    be = backend or make_backend(_backend_config(cfg, backend_options))
    records = [evaluate_benchmark(cfg, b.name, be, out_dir, cache_dir=cache_dir, progress=progress, loaded=b, log=log)
               for b in loaded]
    if lm_eval:
        path = write_lmeval(records, out_dir, shots=n_shot(protocol))
        if log:
            log(f"lm-eval results: {path}")
    return [r.to_dict() for r in records]


def run_eval(config: Mapping[str, Any], out_dir: str | os.PathLike[str], **kwargs: Any) -> dict[str, Any]:
    """Evaluate the single benchmark of ``config`` (a stored record's config) and return its record."""
    benches = normalize_config(config)["benchmarks"]
    if len(benches) != 1:
        raise ValueError(f"run_eval takes one benchmark, got {benches}; use run_evals for several")
    return run_evals(config, out_dir, **kwargs)[0]

