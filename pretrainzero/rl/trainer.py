r"""The embedded PretrainZero trainer: one process, CPU or one GPU, straight-line code.

What one training step does, in plain words:

1. Take the next P training paragraphs (held-out paragraphs are never drawn).
2. Play one round of the game with the current policy (:func:`~pretrainzero.rl.step.pretrainzero_step`):
   the model proposes G_gen masks per paragraph, the valid ones are hidden in the paragraph, the
   same model answers each masked paragraph G_pred times; answers score 1 when they match the
   hidden span exactly, masks score well when only some answers are right (paper Eq. 9).
   During the first ``cold_start_steps`` the masks are random spans instead (Random RLPT).
3. Groups whose rewards are all equal are dropped (no relative signal). The algorithm (DAPO by
   default) turns the remaining rewards into advantages within each group.
4. The policy update (:func:`~pretrainzero.rl.update.policy_update`), both roles concatenated: a
   forward pass over micro-batches of sequences gives the new log-probabilities of the sampled
   tokens, the algorithm's loss is back-propagated, gradients accumulate, are clipped, and AdamW
   steps (learning rate: linear warm-up, then cosine, per rollout batch). There is no KL term and
   no reference model. With ``mini_batches: 1`` (default) the batch is used for exactly one
   update, so the "old" policy *is* the current one: the ratio is 1 and the clip inactive. With
   ``mini_batches: k`` the batch is split into k optimizer steps whose ratio is taken against the
   rollout policy's log-probabilities (the sampler's), so the clip acts from the second step on.
   The G samples of one prompt share a single pass over that prompt, in sampling and here.
   ``dtype: bfloat16`` computes in bf16 under autocast on fp32 master weights
   (:mod:`pretrainzero.rl.precision`).
5. Log the step's metrics, and every ``save_every`` steps write an atomic checkpoint.

A loss or gradient that is NaN/inf skips the update (logged); an update that leaves any weight
NaN/inf is undone by restoring the last checkpoint's weights and optimizer state (or the starting
model's), so non-finite weights are never sampled from or saved. ``nan_patience`` such steps in a
row stop the run, leaving the last checkpoint untouched. Before RL an optional supervised cold start
(:mod:`pretrainzero.rl.sft`) teaches a tiny model the answer format; held-out masked-span
accuracy is measured before and after (greedy).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
import warnings as warnings_module  # `warnings` is the run's list of messages
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..masking import make_masker
from ..models import load_model
from ..progress import Progress
from .algorithms import recipe_algorithm
from .checkpoint import latest_checkpoint, save_checkpoint
from .data import ParagraphStream
from .memory import keep_freed_memory
from .metrics import MetricsLog, read_metrics
from .precision import checkpointed_layers, enable_gradient_checkpointing, precision
from .preflight import check_before_loading, predictor_reward_factory
from .recipe import Recipe
from .report import plot_curves, write_report
from .rundir import open_run_folder
from .step import PredictorRewardFn, StepConfig, pretrainzero_step
from .tracking import Trackers, check_report_to
from .update import UpdateConfig, make_adamw, policy_update


@dataclass
class TrainResult:
    """Where a run ended and what it left behind."""

    status: str  # "completed" | "diverged"
    steps_done: int
    out_dir: Path
    checkpoint: Path | None
    report: Path
    plot: Path | None
    metrics: Path
    heldout: dict[str, dict[str, float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class TrainingDiverged(RuntimeError):
    """Raised internally when ``nan_patience`` non-finite losses happen in a row."""


def lr_factor(step: int, recipe: Recipe) -> float:
    """Linear warm-up to 1, then cosine decay to ``min_lr_ratio`` at ``recipe.steps`` (or constant)."""
    if step < recipe.warmup_steps:
        return (step + 1) / recipe.warmup_steps
    if recipe.schedule == "constant":
        return 1.0
    span = max(1, recipe.steps - recipe.warmup_steps)
    progress = min(1.0, (step - recipe.warmup_steps) / span)
    return recipe.min_lr_ratio + (1 - recipe.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def _device(recipe: Recipe) -> str:
    if recipe.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return recipe.device


def _weights_finite(params: list[torch.Tensor]) -> bool:
    # a NaN/inf weight makes its tensor's sum NaN/inf; one reduction per tensor, where isfinite()
    # would write a mask as large as the model (10x slower on CPU)
    with torch.no_grad():
        return bool(torch.isfinite(torch.stack([p.sum() for p in params])).all())


def _restore_weights(model: Any, optimizer: torch.optim.Optimizer, source: str | Path, recipe: Recipe) -> None:
    """Load the weights (and, from a checkpoint, the optimizer state) of ``source`` into ``model``."""
    fresh, _ = load_model(str(source), dtype=precision(recipe.dtype).param_dtype, device=_device(recipe))
    model.load_state_dict(fresh.state_dict())
    del fresh
    opt_file = Path(source) / "optimizer.pt"
    if opt_file.is_file():
        optimizer.load_state_dict(torch.load(opt_file, weights_only=True))
    else:  # the starting model: a fresh optimizer
        optimizer.state.clear()


def _predictor_reward_fn(recipe: Recipe, model: Any, tokenizer: Any) -> PredictorRewardFn | None:
    if recipe.predictor_reward == "exact":
        return None
    if recipe.predictor_reward == "likelihood":
        from .likelihood import LikelihoodReward, LikelihoodRewardConfig

        return LikelihoodReward(model, tokenizer, LikelihoodRewardConfig(**recipe.predictor_reward_kwargs))
    return predictor_reward_factory(recipe)(model, tokenizer, **recipe.predictor_reward_kwargs)


def _make_engine(recipe: Recipe, model: Any, tokenizer: Any, model_path: str) -> Any:
    if recipe.sampler == "vllm":
        from ..engines.vllm import VLLMEngine
        from ..models import resolve_model

        # the trainer's own copy of the weights shares the GPU: vLLM gets a bounded slice by default
        kwargs = {"gpu_memory_utilization": 0.35, **recipe.vllm_kwargs}
        return VLLMEngine(resolve_model(model_path), tokenizer=tokenizer, dtype=precision(recipe.dtype).compute_dtype,
                          seed=recipe.seed, **kwargs)
    from ..engines.hf import TransformersEngine

    return TransformersEngine(model, tokenizer, batch_size=recipe.sampler_batch_size,
                              shared_prefill=recipe.shared_prefill)


def _heldout(model: Any, tokenizer: Any, recipe: Recipe, items: list[Any], progress: bool,
             log: Callable[[str], None]) -> dict[str, float]:
    from .heldout import evaluate_heldout

    budget = recipe.eval_max_tokens or recipe.max_response_tokens
    return evaluate_heldout(model, tokenizer, items, max_new_tokens=budget, normalized=recipe.normalized_match,
                            samples=recipe.heldout_samples, temperature=recipe.temperature, stop=recipe.stop,
                            seed=recipe.seed, progress="auto" if progress else "log", log=log).summary()


def _two_decimals(x: float | None) -> str:
    """A live number for the progress line; "–" when the step had no data (NaN), never "nan"."""
    return "–" if x is None or math.isnan(x) else f"{x:.2f}"


def train(
    recipe: Recipe,
    out_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Run (or resume) training as described in the module docstring; returns where things are.

    ``out_dir`` follows the run-folder rules of :mod:`pretrainzero.rl.rundir`: a non-empty folder
    needs ``resume`` (continue its newest intact checkpoint) or ``overwrite`` (delete it first).
    ``progress``: a bar when stderr is a terminal, otherwise a ``log`` line every 30 s; when False,
    one ``log`` line per step."""
    out = Path(out_dir)
    ckpt_root = out / "checkpoints"
    warnings: list[str] = []

    # ------------------------------------------------------------------ setup
    check_before_loading(recipe)  # corpus, user code, device, model reference: fail before anything loads
    check_report_to(recipe.report_to)  # a missing tracker package: one line, before anything is made
    run = open_run_folder(out, recipe.to_dict(), resume=resume, overwrite=overwrite, log=log)
    state = run.state
    model_path = str(state.path) if state else recipe.model
    prec, device = precision(recipe.dtype), _device(recipe)
    if device == "cpu":
        keep_freed_memory()  # no page faults for the memory each step frees and allocates again
    model, tok = load_model(model_path, dtype=prec.param_dtype, device=device)  # fp32 masters under bfloat16
    model.eval()  # no dropout: the sampled and the trained policy must be the same function
    if recipe.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    if (msg := prec.warning(recipe.lr)) is not None:
        log(f"warning: {msg}")
        warnings.append(msg)
    compute = lambda: prec.autocast(device)  # every forward: sampling, SFT, held-out, training

    def train_forward() -> Any:
        stack = contextlib.ExitStack()
        stack.enter_context(compute())
        if recipe.gradient_checkpointing:
            stack.enter_context(checkpointed_layers(model))
        return stack

    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    algo = recipe_algorithm(recipe)
    update_cfg = UpdateConfig(micro_batch_size=recipe.micro_batch_size, mini_batches=recipe.mini_batches,
                              temperature=recipe.temperature, grad_clip=recipe.grad_clip,
                              # the shared prompt pass runs through a KV cache, which checkpointing drops
                              share_prompts=recipe.shared_prefill and not recipe.gradient_checkpointing)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_adamw(params, recipe.lr, recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, recipe))
    stream = ParagraphStream(recipe.corpus, recipe.seed)
    engine = _make_engine(recipe, model, tok, model_path)
    reward_fn = _predictor_reward_fn(recipe, model, tok)
    step_cfg = StepConfig.from_recipe(recipe)
    random_masker = make_masker(recipe.random_masker, recipe.random_masker_kwargs)
    rpt_masker = make_masker("next-token", recipe.random_masker_kwargs if recipe.random_masker == "next-token" else {})
    start_step, nan_streak = 0, 0
    invalid_steps = 0  # steps where no generated mask was valid, over the whole run (resumes included)
    heldout: dict[str, dict[str, float]] = {}
    if state:
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
        stream.load_state_dict(state.data)
        start_step = state.step
        nan_streak = int(state.extra.get("nan_streak", 0))
        invalid_steps = int(state.extra.get("invalid_steps", 0))
        heldout = dict(state.extra.get("heldout", {}))
        warnings = list(state.extra.get("warnings", []))
    trackers = Trackers.open(recipe.report_to, out, recipe.name, recipe.to_dict())
    metrics = MetricsLog(out / "metrics.jsonl", truncate_to=state.metrics_offset if state else None, trackers=trackers)
    (out / "recipe.json").write_text(json.dumps(recipe.to_dict(), indent=1, default=str))

    items: list[Any] = []
    if recipe.heldout_n and (recipe.eval_at_start or recipe.eval_at_end):
        from .heldout import recipe_heldout_items

        items = recipe_heldout_items(recipe, tok)
        if not items:
            log(f"warning: corpus {recipe.corpus!r} gave no held-out items; skipping held-out evaluation")

    def checkpoint(step: int) -> Path:
        extra = {"nan_streak": nan_streak, "invalid_steps": invalid_steps, "heldout": heldout,
                 "warnings": warnings[-20:], "recipe": recipe.to_dict(), "run_id": run.run_id}
        return save_checkpoint(ckpt_root, step, model=model, tokenizer=tok, optimizer=optimizer, scheduler=scheduler,
                               data=stream.state_dict(), metrics_offset=metrics.offset, extra=extra,
                               keep=recipe.keep_checkpoints)

    if state is None:
        if items and recipe.eval_at_start:
            with compute():
                heldout["base"] = _heldout(model, tok, recipe, items, progress, log)
            log(f"held-out before training: {format_heldout(heldout['base'])}")
        if recipe.sft is not None:  # supervised cold start, then a step-0 checkpoint marks it done
            from .sft import run_sft

            sft_cfg = dataclasses.replace(recipe.sft, form=recipe.prompt_form, prefill=recipe.prefill,
                                          gen_prefill=recipe.mask_prefill, stop=tuple(recipe.stop))
            n = recipe.sft_paragraphs or sft_cfg.steps * sft_cfg.batch_size
            texts = [p.text for p in ParagraphStream(recipe.corpus, recipe.seed + 1).take(n)]
            with compute():
                summary = run_sft(model, tok, texts, sft_cfg, make_masker(recipe.sft_masker, recipe.sft_masker_kwargs),
                                  log=lambda m: metrics.write({"phase": "sft", **m}),
                                  progress="auto" if progress else "log", say=log)
            model.eval()
            log(f"SFT cold start: {sft_cfg.steps} steps, loss {summary['sft_first_loss']:.3f} -> "
                f"{summary['sft_last_loss']:.3f}")
            if items and recipe.eval_at_start:
                with compute():
                    heldout["cold_start"] = _heldout(model, tok, recipe, items, progress, log)
                log(f"held-out after the cold start: {format_heldout(heldout['cold_start'])}")
            checkpoint(0)

    # ------------------------------------------------------------------ the loop
    # a bar on a terminal, else a line every 30 s through log; with progress=False a line per step
    bar = Progress(recipe.steps, "train", mode="auto" if progress else "log", log=log, unit="step",
                   every_s=30.0 if progress else 0.0, initial=start_step)
    say = bar.write
    status, last_ckpt = "completed", latest_checkpoint(ckpt_root)
    t_start = time.perf_counter()
    # the held-out result last computed in this process on the current weights (reused when no step runs)
    fresh = heldout.get("cold_start", heldout.get("base")) if state is None else None
    for step in range(start_step, recipe.steps):
        fresh = None
        t0 = time.perf_counter()
        rng = np.random.default_rng([recipe.seed, step])  # masks and sampling seeds: resumable
        mode = "random-rlpt" if recipe.mode == "pretrainzero" and step < recipe.cold_start_steps else recipe.mode
        masker = rpt_masker if mode == "rpt" else random_masker
        with compute():
            batch = pretrainzero_step(engine, tok, stream.take(recipe.paragraphs_per_step), step_cfg, rng,
                                      mode=mode, masker=masker, predictor_reward_fn=reward_fn)
        st = batch.stats
        if mode == "pretrainzero" and st["masks"] and st["mask_valid_rate"] == 0:
            invalid_steps += 1
            if invalid_steps in (1, 10, 100) or invalid_steps % 1000 == 0:
                reasons = ", ".join(f"{k[8:]}={int(v)}" for k, v in st.items() if k.startswith("invalid_"))
                msg = (f"step {step}: none of the {int(st['masks'])} generated masks was a valid \\mask{{}} "
                       f"({reasons}; {invalid_steps} such steps so far). Generator groups all get reward 0 (no "
                       "signal); training continues on the predictor groups only. A weak model needs a cold start: "
                       "cold_start_steps (random RLPT), an sft: section, or mask_prefill: '\\mask{'.")
                say(f"warning: {msg}")
                warnings.append(msg)

        # ---- one update on both roles
        t1 = time.perf_counter()
        row: dict[str, Any] = {"step": step, "mode": mode, "lr": optimizer.param_groups[0]["lr"]}
        samples, n_tok = batch.samples, 0
        update = "applied"  # or why not (see report.UPDATE_OUTCOMES)
        if samples:
            up = policy_update(model, optimizer, algo, samples, pad_id, update_cfg, forward_context=train_forward)
            skipped, n_tok = up.skipped, up.train_tokens
            if up.optimizer_steps and not _weights_finite(params):
                # never sample from, or save, non-finite weights: put the last good ones back
                skipped, update, nan_streak = True, "non-finite-weights", nan_streak + 1
                source = last_ckpt or model_path
                _restore_weights(model, optimizer, source, recipe)
                say(f"warning: step {step}: the update made weights non-finite; restored the last good ones "
                    f"from {source} (update skipped, {nan_streak} in a row)")
            elif skipped:
                update, nan_streak = "non-finite", nan_streak + 1
                say(f"warning: step {step}: non-finite loss or gradient; update skipped ({nan_streak} in a row)")
            else:
                nan_streak = 0
                if up.grad_norm == 0:  # every advantage was 0: no learning signal
                    update = "zero-gradient"
            if up.optimizer_steps:
                after_step = getattr(reward_fn, "after_step", None)  # e.g. the likelihood reward's EMA
                if after_step is not None:
                    after_step(model)
                if recipe.sampler == "vllm":
                    engine.load_weights(model)
            row.update(loss=up.loss if not skipped else float("nan"), grad_norm=up.grad_norm, entropy=up.entropy,
                       logprob_gap=up.logprob_gap, clip_frac=up.clip_frac, optimizer_steps=up.optimizer_steps)
        else:
            skipped, update = True, "no-samples"
            say(f"step {step}: every group had equal rewards, nothing to learn from (no update)")
        with warnings_module.catch_warnings():  # a step without an update advances the schedule on purpose
            warnings_module.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
            scheduler.step()  # the schedule follows the step count, updates or not
        t2 = time.perf_counter()
        row.update(st)
        row.update(skipped=skipped, update=update, samples=len(samples), train_tokens=n_tok,
                   time_train=t2 - t1, time_step=t2 - t0,
                   tokens_per_s=(st["sampled_tokens"] + n_tok) / max(t2 - t0, 1e-9),
                   sampled_tokens_per_s=st["sampled_tokens"] / max(st["time_generate"], 1e-9))
        metrics.write(row)
        bar.set_postfix(acc=_two_decimals(st["predictor_accuracy"]), valid=_two_decimals(st["mask_valid_rate"]),
                        var=_two_decimals(st["nonzero_var_group_frac"]))
        bar.update(1)
        if nan_streak >= recipe.nan_patience:
            status = "diverged"
            say(f"error: {nan_streak} non-finite updates in a row; stopping. Last good checkpoint: {last_ckpt}")
            break
        # no periodic checkpoint inside a run of skipped updates: the last one stays the last good state
        out_of_time = recipe.max_minutes is not None and time.perf_counter() - t_start > 60 * recipe.max_minutes
        if ((step + 1) % recipe.save_every == 0 and nan_streak == 0) or step + 1 == recipe.steps or out_of_time:
            last_ckpt = checkpoint(step + 1)
        if out_of_time and step + 1 < recipe.steps:
            msg = f"time budget of {recipe.max_minutes} min reached: stopped after {step + 1} of {recipe.steps} steps"
            say(msg)
            warnings.append(msg)
            break
    bar.close()

    # ------------------------------------------------------------------ wrap-up
    if status == "completed" and items and recipe.eval_at_end:
        if fresh is not None:  # no step ran: the weights are the ones just evaluated
            heldout["final"] = fresh
        else:
            with compute():
                heldout["final"] = _heldout(model, tok, recipe, items, progress, log)
        log(f"held-out after training: {format_heldout(heldout['final'])}"
            + (" (no training step ran: the same weights as the evaluation above)" if fresh is not None else ""))
        if last_ckpt is not None:  # record it with the checkpoint too
            extra_path = last_ckpt / "heldout.json"
            extra_path.write_text(json.dumps(heldout, indent=1))
    metrics.close()
    rows = [r for r in read_metrics(out / "metrics.jsonl") if r.get("phase") != "sft"]
    plot = plot_curves(rows, out / "curves.png")
    report = write_report(out / "report.md", recipe=recipe.to_dict(), rows=rows, status=status, plot=plot,
                          checkpoint=last_ckpt, heldout=heldout, warnings=warnings)
    return TrainResult(status, len(rows), out, last_ckpt, report, plot, out / "metrics.jsonl", heldout, warnings)


def format_heldout(h: dict[str, float]) -> str:
    """One line: greedy accuracy, sampled accuracy (when measured) and span log p, each ± s.e."""
    sampled = (f", sampled accuracy (mean@{int(h['samples_per_item'])}) {h['sampled_accuracy']:.3f} ± "
               f"{h['sampled_accuracy_se']:.3f}" if h.get("samples_per_item") else "")
    return (f"accuracy {h['accuracy']:.3f} ± {h['accuracy_se']:.3f}{sampled}, span log p {h['span_logprob']:.3f} ± "
            f"{h['span_logprob_se']:.3f} (n={int(h['n'])})")
