"""End-of-run artefacts: PNG plots of the training curves and a short Markdown run report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# (title, metric keys) per panel; panels whose keys never appear are skipped
PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Predictor accuracy / reward", ("predictor_accuracy", "predictor_reward")),
    ("Generator reward", ("generator_reward",)),
    ("Mask validity rate", ("mask_valid_rate",)),
    ("Groups with reward variance", ("nonzero_var_group_frac", "filtered_group_frac")),
    ("Response length (tokens)", ("generator_response_len", "predictor_response_len")),
    ("Entropy (nats/token)", ("entropy",)),
    ("Loss", ("loss",)),
    ("Seconds per step", ("time_generate", "time_train", "time_step")),
)


def _series(rows: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in rows:
        v = r.get(key)
        if isinstance(v, (int, float)) and math.isfinite(v):
            xs.append(int(r["step"]))
            ys.append(float(v))
    return xs, ys


def plot_curves(rows: Sequence[dict[str, Any]], path: str | Path) -> Path | None:
    """One PNG with a panel per curve family; None when there is nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(t, ks) for t, ks in PANELS if any(_series(rows, k)[0] for k in ks)]
    if not panels:
        return None
    cols = 2
    nrows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(11, 3.0 * nrows), squeeze=False)
    for ax, (title, keys) in zip(axes.flat, panels, strict=False):  # the grid may have one spare axis
        for k in keys:
            xs, ys = _series(rows, k)
            if xs:
                ax.plot(xs, ys, marker="." if len(xs) < 50 else None, label=k)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# what each step's ``update`` field means (metrics.jsonl), in report wording
UPDATE_OUTCOMES: dict[str, str] = {
    "zero-gradient": ("had a loss and gradient of exactly 0: every advantage was 0, so there was no "
                      "learning signal (AdamW's weight decay and momentum from earlier steps still moved "
                      "the weights)"),
    "no-samples": "had no samples to train on (no group survived the equal-reward filter): no update",
    "non-finite": "were skipped: the loss or the gradient was NaN/inf",
    "non-finite-weights": "were undone: the update made weights NaN/inf, the last good weights were restored",
}


def update_summary(rows: Sequence[dict[str, Any]]) -> list[str]:
    """How many steps changed the weights with a real gradient, and what happened in the others."""
    outcomes = [r.get("update") or ("non-finite" if r.get("skipped") else "applied") for r in rows]
    applied = outcomes.count("applied")
    lines = [f"Updates: {applied} of {len(rows)} steps applied a non-zero gradient."]
    for key, text in UPDATE_OUTCOMES.items():
        if n := outcomes.count(key):
            lines.append(f"- {n} {text}.")
    return lines


def _mean(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    ys = _series(rows, key)[1]
    return sum(ys) / len(ys) if ys else None


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_report(
    path: str | Path,
    *,
    recipe: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    status: str,
    plot: Path | None,
    checkpoint: Path | None,
    heldout: dict[str, dict[str, float]] | None = None,
    warnings: Sequence[str] = (),
) -> Path:
    """A short Markdown report: setup, per-phase averages, held-out scores, warnings, artefacts."""
    lines = [f"# Run report: {recipe.get('name', 'run')}", "", f"Status: **{status}**.", ""]
    lines += [
        (f"Model `{recipe.get('model')}` ({recipe.get('dtype')}), mode `{recipe.get('mode')}`, algorithm "
        f"`{recipe.get('algorithm')}`, corpus `{recipe.get('corpus')}`; P={recipe.get('paragraphs_per_step')}, "
        f"G_gen={recipe.get('g_gen')}, G_pred={recipe.get('g_pred')}, lr={recipe.get('lr')}, "
        f"steps={len(rows)}/{recipe.get('steps')}."),
        "",
    ]
    if rows:
        half = max(1, len(rows) // 2)
        keys = ("predictor_accuracy", "predictor_reward", "generator_reward", "mask_valid_rate",
                "nonzero_var_group_frac", "filtered_group_frac", "mean_span_words", "predictor_response_len",
                "entropy", "tokens_per_s", "time_generate", "time_train", "time_step")
        lines += ["| metric | first half | second half | all |", "|---|---|---|---|"]
        for k in keys:
            a, b, c = _mean(rows[:half], k), _mean(rows[half:], k), _mean(rows, k)
            if c is not None:
                lines.append(f"| {k} | {_fmt(a)} | {_fmt(b)} | {_fmt(c)} |")
        lines += ["", *update_summary(rows), ""]
    if heldout:
        n_sampled = max(int(h.get("samples_per_item") or 0) for h in heldout.values())
        sampled = f" sampled mean@{n_sampled} | ± se |" if n_sampled else ""
        lines += ["## Held-out masked-span evaluation", "",
                  f"| when | n | greedy accuracy | ± se |{sampled} span log p | ± se |",
                  "|---|---|---|---|" + ("---|---|" if n_sampled else "") + "---|---|"]
        for when, h in heldout.items():
            cells = f" {_fmt(h.get('sampled_accuracy'))} | {_fmt(h.get('sampled_accuracy_se'))} |" if n_sampled else ""
            lines.append(f"| {when} | {_fmt(h.get('n'))} | {_fmt(h.get('accuracy'))} | {_fmt(h.get('accuracy_se'))} |"
                         f"{cells} {_fmt(h.get('span_logprob'))} | {_fmt(h.get('span_logprob_se'))} |")
        lines.append("")
    if warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in warnings] + [""]
    lines += ["## Files", ""]
    if plot:
        lines += [f"![curves]({plot.name})", ""]
    lines += ["- metrics: `metrics.jsonl` (one JSON object per step)",
              f"- checkpoint: `{checkpoint}`" if checkpoint else "- checkpoint: none written", ""]
    path = Path(path)
    path.write_text("\n".join(lines))
    return path
