"""`pretrainzero corpus add|show|index|list|remove`: register, inspect, index and remove corpora.

``corpus add`` is the third way to register a corpus (besides YAML and ``register_corpus``): it
validates the spec, reads a local source end to end (building its index, so a truncated or
broken file fails here, not in a later run; a Hub source is checked by its first paragraph),
then writes ``<dir>/<name>.yaml`` atomically, which ``import pretrainzero`` loads from then on.
A relative ``--source`` path is resolved against the working directory. ``corpus remove`` undoes
it: it deletes the one-corpus YAML file that defines the name in the user folders, and the indexes
of that definition (``--keep-index`` keeps them).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pretrainzero.corpus import CorpusSpec


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "corpus", help="register, inspect and index corpora", description=__doc__.splitlines()[0]
    )
    parser.set_defaults(func=run)
    verbs = parser.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)

    add = verbs.add_parser("add", help="declare a corpus (writes a YAML file)")
    add.add_argument("name", help="corpus name, [a-z0-9][a-z0-9._-]* (becomes part of env ids)")
    add.add_argument(
        "--source",
        required=True,
        help="hf:<dataset id or dir> | file path/glob (.jsonl .json .parquet .txt .md) | "
        "package:<module>/<glob>",
    )
    add.add_argument("--text-field", default="text")
    add.add_argument("--title-field")
    add.add_argument("--hf-config")
    add.add_argument("--split", default="train")
    stream = add.add_mutually_exclusive_group()
    stream.add_argument("--streaming", dest="streaming", action="store_true", default=None)
    stream.add_argument("--no-streaming", dest="streaming", action="store_false")
    add.add_argument("--min-chars", type=int, default=200)
    add.add_argument("--max-chars", type=int, default=2000)
    add.add_argument("--no-dedup", dest="dedup", action="store_false", help="keep exact duplicate paragraphs")
    add.add_argument("--tasks", help="comma-separated task names (default: all)")
    add.add_argument("--version", type=int, default=0, help="corpus version, part of env ids' vN")
    add.add_argument("--description", default="")
    add.add_argument("--license", default="")
    add.add_argument("--language", default="")
    add.add_argument(
        "--dir",
        type=Path,
        help="folder to write NAME.yaml into (default: first "
        "PRETRAINZERO_ENV_PATH folder, else ~/.config/pretrainzero/envs)",
    )
    add.add_argument("--force", action="store_true", help="overwrite an existing NAME.yaml")
    add.add_argument(
        "--replace", action="store_true", help="redefine a built-in corpus name (writes `replace: true`)"
    )
    add.add_argument(
        "--no-check", dest="check", action="store_false", help="do not read (and index) the source now"
    )
    add.set_defaults(corpus_func=run_add)

    show = verbs.add_parser("show", help="spec, first paragraphs and stats of a corpus")
    show.add_argument("name")
    show.add_argument("-n", type=int, default=3, help="paragraphs to print (default 3)")
    show.add_argument(
        "--index",
        action="store_true",
        help="build the index for full stats (automatic for local sources < 100 MB)",
    )
    show.set_defaults(corpus_func=run_show)

    index = verbs.add_parser("index", help="build the on-disk index of a corpus and print counts")
    index.add_argument("name")
    index.set_defaults(corpus_func=run_index)

    lst = verbs.add_parser("list", help="registered corpora (reads no data)")
    lst.set_defaults(corpus_func=run_list)

    remove = verbs.add_parser("remove", help="delete a corpus's YAML file (from `corpus add`) and its indexes")
    remove.add_argument("name")
    remove.add_argument("--dir", type=Path, help="look only in this folder (default: the folders loaded at import)")
    remove.add_argument("--keep-index", action="store_true", help="keep the corpus's indexes in the cache")
    remove.set_defaults(corpus_func=run_remove)


def run(args: argparse.Namespace) -> int:
    return int(args.corpus_func(args) or 0)


def run_add(args: argparse.Namespace) -> int:
    from pretrainzero.corpus import CorpusSpec, default_add_dir, register_spec, spec_as_yaml
    from pretrainzero.corpus.registry import BuiltinCorpusError, _absolute_source, is_builtin
    from pretrainzero.fileio import atomic_write_text

    fields = dict(
        text_field=args.text_field,
        title_field=args.title_field,
        hf_config=args.hf_config,
        split=args.split,
        streaming=args.streaming,
        min_chars=args.min_chars,
        max_chars=args.max_chars,
        dedup=args.dedup,
        version=args.version,
        description=args.description,
        license=args.license,
        language=args.language,
    )
    if args.tasks:
        fields["tasks"] = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
    spec = CorpusSpec(name=args.name, source=_absolute_source(args.source, Path.cwd()), **fields)
    if is_builtin(spec.name) and not args.replace:
        raise BuiltinCorpusError(
            f"corpus {spec.name!r} is built in; choose another name, or pass --replace to redefine it "
            "for every later run"
        )
    folder = (args.dir or default_add_dir()).expanduser()
    target = folder / f"{spec.name}.yaml"
    if target.exists() and not args.force:
        raise ValueError(f"{target} already exists (use --force to overwrite)")
    if args.check:
        _check_source(spec)
    folder.mkdir(parents=True, exist_ok=True)
    text = spec_as_yaml(spec) + ("replace: true\n" if args.replace else "")
    atomic_write_text(target, text)
    register_spec(spec, replace=args.replace)
    print(f"wrote {target}")
    if folder.resolve() not in _loaded_dirs():
        print(f"note: {folder} is not loaded at import; add it to PRETRAINZERO_ENV_PATH")
    for env_id in _env_ids(spec):
        print(f"  {env_id}")
    return 0


def _check_source(spec: CorpusSpec) -> None:
    """Read a local source end to end (building its index), or a Hub source's first paragraph."""
    from pretrainzero.corpus import Corpus
    from pretrainzero.corpus.sources import _local_dataset_dir

    corpus = Corpus(spec)
    hub = spec.kind == "hf" and _local_dataset_dir(spec) is None
    try:
        if hub:
            first = next(iter(corpus))  # raises a clear error if the source yields nothing
            print(f"first paragraph ({first.id}): {textwrap.shorten(first.text, 160)}")
        else:
            corpus.build_index(progress=sys.stderr.isatty())  # no bar in logs and pipes
            first = corpus[0]
            print(f"first paragraph ({first.id}): {textwrap.shorten(first.text, 160)}")
            print(corpus.summary())
    except (ValueError, OSError, KeyError):
        raise
    except Exception as exc:  # e.g. a Hub dataset without network: one line, not a traceback
        raise ValueError(
            f"corpus {spec.name!r}: reading {spec.describe_source()} failed: "
            f"{type(exc).__name__}: {exc} (--no-check skips this test)"
        ) from exc


def _loaded_dirs() -> set[Path]:
    from pretrainzero.corpus import env_path_dirs, user_env_dir
    from pretrainzero.corpus.registry import BUILTIN_DIR

    return {p.resolve() for p in [BUILTIN_DIR, user_env_dir(), *env_path_dirs()]}


def _env_ids(spec: CorpusSpec) -> list[str]:
    try:
        from pretrainzero.envs.registration import env_id
    except ImportError:
        return []
    return [env_id(spec.name, task, spec.version) for task in spec.tasks]


def run_show(args: argparse.Namespace) -> int:
    from pretrainzero.corpus import get_corpus, spec_as_yaml

    corpus = get_corpus(args.name)
    print(spec_as_yaml(corpus.spec).rstrip())
    for env_id in _env_ids(corpus.spec):
        print(f"# env: {env_id}")
    print()
    for p in itertools.islice(corpus, max(args.n, 0)):
        title = f" [{p.meta['title']}]" if "title" in p.meta else ""
        print(f"{p.id}{title} ({len(p.text)} chars)")
        print(textwrap.indent(textwrap.shorten(p.text, 400), "    "))
    print()
    if args.index or corpus.is_indexed() or _small_local(corpus.spec):
        print(corpus.summary())
    else:
        print(f"(not indexed yet: `pretrainzero corpus index {args.name}` or --index for full stats)")
    return 0


def _small_local(spec: CorpusSpec, limit: int = 100_000_000) -> bool:
    """Local sources under ``limit`` bytes are indexed by ``show`` (about a second per 20 MB)."""
    from pretrainzero.corpus.sources import fingerprint

    if spec.kind == "memory":
        return True
    if spec.kind == "hf":
        return False
    return sum(size for _, size, _ in fingerprint(spec)) < limit


def run_index(args: argparse.Namespace) -> int:
    import time

    from pretrainzero.corpus import get_corpus

    corpus = get_corpus(args.name)
    start = time.perf_counter()
    store = corpus.build_index(progress=True)
    s = store.stats
    print(corpus.summary())
    print(
        f"documents {s.documents:,}  paragraphs {s.paragraphs:,}  files {s.files}  "
        f"({time.perf_counter() - start:.1f}s)"
    )
    size = sum(f.stat().st_size for f in store.path.iterdir())
    print(f"index: {store.path} ({size / 1e6:.1f} MB)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from pretrainzero.corpus import list_corpora

    for spec in list_corpora():
        print(f"{spec.name:24} {spec.describe_source()}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Delete the YAML file that defines ``args.name`` in the user folders, then its indexes.

    Only a file that defines this one corpus is deleted (a file shared with other corpora is
    named so the user can edit it); a built-in corpus has no file to remove, and removing a
    user file that replaced a built-in brings the built-in definition back.
    """
    import shutil

    from pretrainzero.corpus import Corpus, env_path_dirs, read_corpus_yaml, user_env_dir
    from pretrainzero.corpus.registry import is_builtin, unregister_corpus, yaml_files
    from pretrainzero.corpus.store import cache_root
    from pretrainzero.errors import UserError

    from ._args import check_folder_arg

    check_folder_arg(args.dir, "--dir", must_exist=True)
    folders = [args.dir.expanduser()] if args.dir else [user_env_dir(), *env_path_dirs()]
    found: list[tuple[Path, list[CorpusSpec]]] = []
    for folder in folders:
        for f in yaml_files(folder) if folder.is_dir() else []:
            try:
                specs = read_corpus_yaml(f)
            except (ValueError, OSError):
                continue  # a broken file defines nothing (import already warned about it)
            if any(spec.name == args.name for spec in specs):
                found.append((f, specs))
    where = ", ".join(str(f) for f in folders) or "no folder"
    if not found:
        if is_builtin(args.name):
            raise UserError(f"corpus {args.name!r} is built in: no user file defines it, nothing to remove")
        raise UserError(f"no corpus file in {where} defines {args.name!r} (see `pretrainzero corpus list`; "
                        "a corpus registered from Python lives only in that process)")
    for f, specs in found:
        if len(specs) > 1:
            others = ", ".join(repr(s.name) for s in specs if s.name != args.name)
            raise UserError(f"{f} defines {args.name!r} together with {others}: edit that file instead")
    for f, specs in found:
        f.unlink()
        print(f"removed {f}")
        if not args.keep_index:
            folder = cache_root() / "index" / args.name
            definition = Corpus(specs[0]).definition_key
            for index in sorted(folder.glob(f"{definition}-*")) if folder.is_dir() else []:
                shutil.rmtree(index, ignore_errors=True)
                (cache_root() / "locks" / f"{args.name}-{index.name}.lock").unlink(missing_ok=True)
                print(f"removed index {index}")
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    unregister_corpus(args.name)
    if is_builtin(args.name):
        print(f"corpus {args.name!r} is the built-in definition again")
    return 0
