r"""Does the RL phase learn? Held-out metrics for base, cold-start and RL models, with errors.

Runs the demo recipe (or reuses a finished run directory), then scores three models on the
same fixed held-out items (paragraphs the trainer never draws, masked once per paragraph id):

* ``base``: the recipe's model before any training;
* ``cold-start``: the checkpoint written after the cold start (SFT and any random-RLPT steps),
  i.e. where the PretrainZero RL phase started;
* ``rl``: the newest checkpoint (end of the RL phase).

For each: greedy masked-span exact-match accuracy; sampled accuracy (mean exact match of k
completions sampled at the recipe's temperature, ``heldout_samples`` or ``--samples``: the
expected reward that RL maximises, on items it never trained on); mean log p(span) per span and
per token (teacher-forced after the prompt and ``\boxed{``); each ± its standard error. Then the paired
differences (same items) cold-start − base and rl − cold-start with their standard errors and
z = difference / error; the RL phase "learns" when z > 2 on at least one metric. Last, the
per-step fraction of groups with non-zero reward variance (the groups DAPO keeps) from the
run's metrics.jsonl.

    python benchmarks/learning_signal.py                          # train the demo into runs/learning-signal, score
    python benchmarks/learning_signal.py --run runs/smollm2-135m-cpu   # score an existing run
    python benchmarks/learning_signal.py --set max_minutes=20 --set heldout_n=150   # bigger
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

METRICS = (("accuracy", "accuracy"), ("sampled_accuracy", "sampled acc"), ("span_logprob", "span log p"),
           ("token_logprob", "token log p"))


def cold_start_checkpoint(ckpts: list[Path], recipe: Any) -> Path | None:
    """The checkpoint at the end of the cold start: step ``cold_start_steps`` (0 after SFT only)."""
    want = f"step-{recipe.cold_start_steps:06d}"
    return next((c for c in ckpts if c.name == want), None)


def score(model_path: str, recipe: Any, items: list[Any], samples: int) -> Any:
    from pretrainzero.models import load_model
    from pretrainzero.rl.heldout import evaluate_heldout
    from pretrainzero.rl.precision import precision

    prec = precision(recipe.dtype)  # as the trainer: master weights, compute under autocast
    model, tok = load_model(model_path, dtype=prec.param_dtype, device="cpu")
    with prec.autocast("cpu"):
        return evaluate_heldout(model, tok, items, max_new_tokens=recipe.eval_max_tokens or recipe.max_response_tokens,
                                normalized=recipe.normalized_match, samples=samples, temperature=recipe.temperature,
                                stop=recipe.stop, seed=recipe.seed)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="agents/smollm2-135m-cpu.yaml", help="recipe to train when --run has no run")
    ap.add_argument("--run", default="runs/learning-signal",
                    help="run directory (trained here if it has no checkpoint)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override for training")
    ap.add_argument("--heldout-n", type=int, default=None, help="held-out items to score (default: the recipe's)")
    ap.add_argument("--samples", type=int, default=None,
                    help="k for held-out sampled accuracy mean@k (default: the recipe's heldout_samples; 0 = off)")
    ap.add_argument("--json", default=None, help="write all numbers here")
    args = ap.parse_args(argv)

    from pretrainzero.rl.checkpoint import list_checkpoints
    from pretrainzero.rl.heldout import paired_difference, recipe_heldout_items
    from pretrainzero.rl.metrics import read_metrics
    from pretrainzero.rl.recipe import load_recipe, recipe_from_dict
    from pretrainzero.rl.trainer import format_heldout

    run = Path(args.run)
    if not list_checkpoints(run / "checkpoints"):
        from pretrainzero.rl.trainer import train

        recipe = load_recipe(args.recipe, overrides=args.set)
        print(f"training {args.recipe} into {run} ...", flush=True)
        train(recipe, run, progress=False)
    recipe = recipe_from_dict(json.loads((run / "recipe.json").read_text()))
    ckpts = list_checkpoints(run / "checkpoints")
    cold, final = cold_start_checkpoint(ckpts, recipe), (ckpts[-1] if ckpts else None)
    if cold is None or final is None or cold == final:
        sys.exit(f"{run}: need a cold-start checkpoint (step-{recipe.cold_start_steps:06d}) and a later one; "
                 f"found {[c.name for c in ckpts]}")

    from pretrainzero.models import load_model

    _, tok = load_model(str(final))
    n = args.heldout_n or recipe.heldout_n
    items = recipe_heldout_items(recipe, tok, n)
    print(f"held-out: {len(items)} items from {recipe.corpus} ({recipe.heldout_masker} {recipe.heldout_masker_kwargs}, "
          f"seed {recipe.seed}); cold start = {cold.name}, RL = {final.name}", flush=True)

    k = recipe.heldout_samples if args.samples is None else args.samples
    metrics = [(key, label) for key, label in METRICS if k or key != "sampled_accuracy"]
    results = {}
    for name, path in (("base", recipe.model), ("cold-start", str(cold)), ("rl", str(final))):
        results[name] = score(path, recipe, items, k)
        r = results[name]
        print(f"  {name:10s} {format_heldout(r.summary())}, "
              f"token log p {r.token_logprob:.3f} ± {r.token_logprob_se:.3f}", flush=True)

    out: dict[str, Any] = {"run": str(run), "items": len(items), "cold_start": cold.name, "rl": final.name,
                           "models": {k: v.summary() for k, v in results.items()}, "paired": {}}
    learned = []
    for after, before in (("cold-start", "base"), ("rl", "cold-start")):
        print(f"paired {after} − {before}:", flush=True)
        for key, label in metrics:
            d, se = paired_difference(results[after], results[before], key)
            z = d / se if se > 0 else (math.inf if d > 0 else 0.0)
            out["paired"][f"{after} - {before}: {key}"] = {"diff": d, "se": se, "z": z}
            print(f"  {label:12s} {d:+.4f} ± {se:.4f}   z = {z:+.1f}", flush=True)
            if after == "rl" and z > 2:
                learned.append(label)
    verdict = (f"RL phase improves held-out {', '.join(learned)} by more than two standard errors" if learned
               else "RL phase does NOT improve any held-out metric by more than two standard errors")
    print(verdict)
    out["rl_learns"] = bool(learned)

    rows = [r for r in read_metrics(run / "metrics.jsonl") if r.get("phase") != "sft" and "nonzero_var_group_frac" in r]
    def num(r: dict, k: str) -> float:  # null: no data that step
        return float("nan") if r.get(k) is None else float(r[k])

    fr = [r["nonzero_var_group_frac"] for r in rows if r["nonzero_var_group_frac"] is not None]
    print("per-step fraction of groups with non-zero reward variance (all / predictor / generator):")
    for r in rows:
        print(f"  step {r['step']:3d} [{r.get('mode', '')}] {num(r, 'nonzero_var_group_frac'):.2f} / "
              f"{num(r, 'predictor_nonzero_var_frac'):.2f} / {num(r, 'generator_nonzero_var_frac'):.2f}"
              f"   accuracy {num(r, 'predictor_accuracy'):.2f}  mask valid {num(r, 'mask_valid_rate'):.2f}")
    if fr:
        print(f"mean over {len(fr)} steps: {statistics.fmean(fr):.2f}; steps with none: {sum(f == 0 for f in fr)}")
    out["nonzero_var_group_frac"] = fr
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
