"""The `pretrainzero` console script: one entry point, one module per verb.

Every module in this package that defines ``register(subparsers)`` (adding its parser and setting
``func=run``) becomes a subcommand, so adding a verb means adding a file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

EPILOG = """quick start:
  pretrainzero list envs                      (also: corpora, benchmarks, protocols, algorithms, recipes)
  pretrainzero play pretrainzero/wiki-vital-en-MaskedSpan-v0 --agent oracle --show
  pretrainzero train --recipe tiny-test --steps 3 --out runs/tiny
  pretrainzero export runs/tiny --out models/tiny
  pretrainzero eval --model smollm2-135m --benchmarks gsm8k --protocol pz-0shot-boxed --limit 5
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pretrainzero",
        description="PretrainZero gym: environments, trainer, eval harness and leaderboards.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from pretrainzero import __version__

    parser.add_argument("--version", action="version", version=f"pretrainzero {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, KeyError) as exc:  # user errors: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
