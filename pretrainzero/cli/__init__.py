"""The `pretrainzero` console script: one entry point, one module per verb.

Every module in this package that defines ``register(subparsers)`` (adding its parser and setting
``func=run``) becomes a subcommand, so adding a verb means adding a file.

Expected failures are handled here, once: a verb raises
:class:`~pretrainzero.errors.UserError` (or a standard ``ValueError``/``OSError``) or
:class:`~pretrainzero.errors.SetupError` (a missing backend or grader, benchmark data, an endpoint)
whose message names the cause and the fix, and ``main`` prints it as one ``error: ...`` line with
exit status 2. Verbs do not catch these themselves.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

EPILOG = """quick start:
  pretrainzero list envs                      (also: corpora, benchmarks, protocols, algorithms, recipes)
  pretrainzero play pretrainzero/wiki-vital-en-MaskedSpan-v1 --agent oracle --show
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
    if getattr(args, "no_progress", False) or not sys.stderr.isatty():
        _quiet_library_bars()
    from pretrainzero.errors import SetupError

    try:
        rc = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at interpreter exit
        return rc
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `pretrainzero list envs | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit flush
        return 141  # what a shell reports for a process ended by SIGPIPE
    except (ValueError, KeyError, OSError, ModuleNotFoundError, SetupError) as exc:  # expected: one line, exit 2
        print(f"error: {user_message(exc)}", file=sys.stderr)
        return 2


def _quiet_library_bars() -> None:
    """No Hugging Face bars (loading weights, writing shards) in logs: our own lines say enough."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "huggingface_hub" in sys.modules:  # already imported: the variable was read
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "transformers" in sys.modules:
        from transformers.utils import logging

        logging.disable_progress_bar()


def user_message(exc: BaseException) -> str:
    """One line for an expected failure (:class:`~pretrainzero.errors.UserError` and the standard
    exceptions bad input raises: a path that is a file or missing, no permission, a full disk, a
    missing optional package)."""
    if isinstance(exc, ModuleNotFoundError):
        text = f"{exc}: an optional dependency is missing; install it (see the README's Install section)"
    elif isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        hints = {IsADirectoryError: "give a file", NotADirectoryError: "give a folder, not a file",
                 PermissionError: "check its permissions", FileNotFoundError: "check the path"}
        hint = hints.get(type(exc), "")
        text = f"{exc.strerror}: {exc.filename}" + (f" ({hint})" if hint else "")
    elif isinstance(exc, KeyError) and type(exc).__str__ is KeyError.__str__ and exc.args:
        text = str(exc.args[0])  # not the quoted repr KeyError prints
    else:
        text = str(exc)
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
