r"""SFT cold start on corpus-derived answers (the paper's "Supervised FT" baseline, as a warm-up).

A tiny model such as SmolLM2-135M almost never answers the paper's prompts in the expected
format, so every RL group has reward 0 and nothing is learnt. A few dozen supervised steps on
answers cut from the corpus itself fix the format (and teach the copy-from-context skill)
before the RL phase runs unchanged:

* predictor role: masked-paragraph prompt → ``predictor_template`` with the hidden span, by
  default ``"\boxed{<span>}"`` (after any prefill, only the rest is a target);
* generator role: generation prompt → ``"\mask{<span>}"`` for a span the masker chose, so
  the generator starts out producing valid masks.

Examples are ``(prompt_ids, target_ids)`` pairs; the loss is the mean token negative
log-likelihood of the targets (prompt tokens are context only).

Call contract for the trainer: ``examples = build_sft_examples(paragraph_texts, masker,
tokenizer, config)`` once, then for each step ``metrics = sft_step(model, optimizer,
examples[i : i + batch_size], max_grad_norm=...)`` (one optimizer step, returns ``{"sft_loss",
"sft_tokens", "grad_norm"}``), or simply ``metrics = run_sft(model, tokenizer, paragraph_texts,
config)`` which owns its AdamW, its schedule and its loop and returns the last metrics.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..masking import Masker
from ..progress import Mode as ProgressMode
from ..progress import Progress
from ..prompts import generation_prompt, prediction_prompt, render_prompt
from .checks import check_finite, check_range

Role = Literal["predictor", "generator"]


@dataclass(frozen=True)
class SFTExample:
    """One supervised example: the model reads ``prompt_ids`` and is trained to write ``target_ids``."""

    prompt_ids: tuple[int, ...]
    target_ids: tuple[int, ...]
    role: Role = "predictor"


@dataclass(frozen=True)
class SFTConfig:
    """Cold-start settings. ``form``/``prefill``/``gen_prefill`` must match the RL phase's prompts.

    ``predictor_template`` is formatted with ``answer`` and must contain ``\\boxed{...}``; the
    part already given by ``prefill`` is stripped from the target. ``generator_fraction`` of
    the examples are generator examples.
    """

    steps: int = 40
    batch_size: int = 8
    lr: float = 2e-5
    weight_decay: float = 0.0
    warmup_steps: int = 2
    max_grad_norm: float = 1.0
    form: Literal["chat", "raw"] = "chat"
    prefill: str = ""
    gen_prefill: str = ""
    predictor_template: str = "\\boxed{{{answer}}}"
    generator_template: str = "\\mask{{{answer}}}"
    generator_fraction: float = 0.0
    max_prompt_tokens: int = 1024
    add_eos: bool = True
    # The RL phase's stop strings (set by the trainer). A target ending with one gets no EOS: the
    # engine stops there, so RL never samples an EOS after it. Training one anyway (the CPU demo's
    # "\boxed{span}<|im_end|>" after a 2-token prefill) teaches the model that its turn ends right
    # after it starts, and the checkpoint answered plain chat prompts with an empty string.
    stop: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "max_prompt_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_finite(self)
        check_range(self, "lr", 0, 1, lo_open=True, hi_open=True)
        check_range(self, "weight_decay", 0, 1)
        check_range(self, "max_grad_norm", 0, math.inf, lo_open=True)
        check_range(self, "generator_fraction", 0, 1)
        check_range(self, "seed", 0, 2**32 - 1)
        if self.form not in ("chat", "raw"):
            raise ValueError(f"form must be chat or raw, got {self.form!r}")
        for name, marker in (("predictor_template", "\\boxed{"), ("generator_template", "\\mask{")):
            t = getattr(self, name)
            if "{answer}" not in t or marker not in t.format(answer="x"):
                raise ValueError(f"{name} must contain {{answer}} inside {marker}...}}, got {t!r}")


def target_text(template: str, answer: str, prefill: str) -> str:
    """The completion the model should write after ``prefill`` (which must be a prefix of it)."""
    full = template.format(answer=answer.strip())
    if not full.startswith(prefill):
        raise ValueError(f"prefill {prefill!r} is not a prefix of the target {full!r}")
    return full[len(prefill) :]


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def make_example(tokenizer: Any, prompt: str, answer: str, *, role: Role, config: SFTConfig) -> SFTExample:
    """Render ``prompt`` as the RL phase would and tokenise the target for ``answer``."""
    prefill = config.prefill if role == "predictor" else config.gen_prefill
    template = config.predictor_template if role == "predictor" else config.generator_template
    p = _ids(tokenizer, render_prompt(tokenizer, prompt, config.form, prefill))[-config.max_prompt_tokens :]
    t = _ids(tokenizer, target_text(template, answer, prefill))
    ends_on_stop = any(target_text(template, answer, prefill).endswith(s) for s in config.stop)
    if config.add_eos and not ends_on_stop and tokenizer.eos_token_id is not None:
        t.append(int(tokenizer.eos_token_id))
    return SFTExample(tuple(p), tuple(t), role)


def build_sft_examples(
    paragraphs: Sequence[str], masker: Masker, tokenizer: Any, config: SFTConfig
) -> list[SFTExample]:
    """One example per maskable paragraph, in a seeded shuffled order.

    A paragraph becomes a generator example (paragraph → ``\\mask{span}``) with probability
    ``generator_fraction``, otherwise a predictor example (masked paragraph → ``\\boxed{span}``).
    """
    rng = np.random.default_rng(config.seed)
    out: list[SFTExample] = []
    for i in rng.permutation(len(paragraphs)):
        text = paragraphs[int(i)]
        ex = masker(text, rng)
        if ex is None or ex.kind != "span":
            continue
        if rng.random() < config.generator_fraction:
            out.append(make_example(tokenizer, generation_prompt(text), ex.answer, role="generator", config=config))
        else:
            out.append(make_example(tokenizer, prediction_prompt(ex), ex.answer, role="predictor", config=config))
    return out


def sft_loss(model: Any, batch: Sequence[SFTExample], *, pad_token_id: int = 0) -> tuple[Any, int]:
    """Mean token NLL of the targets given the prompts, and the number of target tokens.

    Right padding (positions then start at 0 for every row without extra work); labels are
    -100 on prompt and padding positions.
    """
    import torch

    if not batch:
        raise ValueError("empty SFT batch")
    rows = [list(e.prompt_ids) + list(e.target_ids) for e in batch]
    width = max(len(r) for r in rows)
    device = next(model.parameters()).device
    ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    att = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, (e, r) in enumerate(zip(batch, rows, strict=True)):
        ids[i, : len(r)] = torch.tensor(r)
        att[i, : len(r)] = 1
        labels[i, len(e.prompt_ids) : len(r)] = torch.tensor(e.target_ids)
    logits = model(input_ids=ids.to(device), attention_mask=att.to(device)).logits[:, :-1].float()
    tgt = labels[:, 1:].to(device)
    n = int((tgt != -100).sum())
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100,
                                             reduction="sum")
    return loss / max(n, 1), n


def sft_step(model: Any, optimizer: Any, batch: Sequence[SFTExample], *, max_grad_norm: float = 1.0,
             pad_token_id: int = 0) -> dict[str, float]:
    """One supervised optimizer step on ``batch``; a non-finite loss skips the update."""
    import torch

    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss, n = sft_loss(model, batch, pad_token_id=pad_token_id)
    if not torch.isfinite(loss):
        return {"sft_loss": float(loss.detach()), "sft_tokens": float(n), "grad_norm": float("nan"), "skipped": 1.0}
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return {"sft_loss": float(loss.detach()), "sft_tokens": float(n), "grad_norm": float(norm), "skipped": 0.0}


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up then cosine decay to 10% (step counts from 0)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def run_sft(
    model: Any,
    tokenizer: Any,
    paragraphs: Sequence[str],
    config: SFTConfig,
    masker: Masker,
    *,
    log: Callable[[dict[str, float]], None] | None = None,
    progress: ProgressMode = "off",
    say: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Run ``config.steps`` SFT steps (own AdamW + warm-up/cosine) and return summary metrics.

    Examples cycle through the shuffled set; ``log`` gets each step's metrics; ``progress`` shows
    the steps (:class:`pretrainzero.progress.Progress`, its lines through ``say``).
    """
    import torch

    from .update import make_adamw

    examples = build_sft_examples(paragraphs, masker, tokenizer, config)
    if not examples:
        raise ValueError("no SFT examples: the masker found no span in any paragraph")
    opt = make_adamw([p for p in model.parameters() if p.requires_grad], config.lr, config.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, config.steps, config.warmup_steps))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    t0 = time.perf_counter()
    first = last = float("nan")
    bar = Progress(config.steps, "SFT cold start", mode=progress, log=say, unit="step")
    for step in range(config.steps):
        b = (step * config.batch_size) % len(examples)
        batch = (examples + examples)[b : b + config.batch_size]
        m = sft_step(model, opt, batch, max_grad_norm=config.max_grad_norm, pad_token_id=pad)
        sched.step()
        m["step"] = float(step)
        m["lr"] = float(opt.param_groups[0]["lr"])
        if step == 0:
            first = m["sft_loss"]
        last = m["sft_loss"]
        if log is not None:
            log(m)
        bar.update(1)
    bar.close()
    model.eval()
    return {"sft_steps": float(config.steps), "sft_examples": float(len(examples)), "sft_first_loss": first,
            "sft_last_loss": last, "sft_seconds": time.perf_counter() - t0}
