"""`pretrainzero export TARGET --out OUT`: take something out of the suite in a standard form.

    pretrainzero export runs/tiny --out models/tiny            # run folder -> plain HF model folder
    pretrainzero export runs/tiny/checkpoints/step-000003 --out models/tiny-3
    pretrainzero export runs/tiny --out models/tiny --push-to-hub me/tiny-pz
    pretrainzero export pretrainzero/wiki-vital-en-MaskedSpan-v1 --n 1000 --out prompts.jsonl

A run folder (or one checkpoint folder) becomes a model folder with config, tokenizer and
safetensors weights only, loadable by ``transformers.AutoModelForCausalLM.from_pretrained``; the
newest intact checkpoint is used unless ``--step`` says otherwise. Any other TARGET is read as
an env id and its episodes are written as OpenRLHF prompts (``pretrainzero.openrlhf``).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="export a run as an HF model folder, or an env's episodes as OpenRLHF prompts",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", help="run folder, checkpoint folder, or env id")
    p.add_argument("--out", required=True, help="model folder (run/checkpoint) or prompts .jsonl file (env id)")
    p.add_argument("--step", type=int, help="model: export this checkpoint step instead of the newest intact one")
    p.add_argument("--overwrite", action="store_true", help="model: replace a non-empty --out folder")
    p.add_argument("--push-to-hub", metavar="REPO_ID", help="model: also upload the folder to this Hub repo")
    p.add_argument("--private", action="store_true", help="model: create the Hub repo as private")
    p.add_argument("--n", type=int, default=1000, help="env id: episodes to export (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="env id: seed of the episode stream")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError

    target = Path(args.target).expanduser()
    if target.exists():
        from ..rl.export import export_model, push_to_hub
        from ._args import check_folder_arg

        check_folder_arg(args.out, "--out")
        done = export_model(target, args.out, step=args.step, overwrite=args.overwrite)
        for reason in done.skipped:
            print(f"note: skipped damaged checkpoint {reason}")
        print(f"exported {done.checkpoint} (step {done.step}) -> {done.out}")
        if args.push_to_hub:
            print(f"pushed: {push_to_hub(done.out, args.push_to_hub, private=args.private)}")
        return 0
    import pretrainzero  # noqa: F401  (registers env ids)

    from ..envs.registration import UnknownEnvError, resolve_env_id

    try:
        env_id = resolve_env_id(args.target)
    except UnknownEnvError as exc:
        raise UserError(
            f"export: {args.target!r} is neither an existing run/checkpoint folder nor a registered env id ({exc})"
        ) from None
    from ..openrlhf import export_prompts

    path = export_prompts(env_id, args.n, args.out, seed=args.seed)
    print(f"wrote {args.n} episodes of {env_id} -> {path}")
    return 0

