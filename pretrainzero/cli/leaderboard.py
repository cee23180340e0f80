"""`pretrainzero leaderboard render|submit|reproduce|list`: manage leaderboards/ from results records.

pretrainzero leaderboard render [--check]        regenerate README.md and index.html
pretrainzero leaderboard submit FILE [--replace] validate a results record and add it
pretrainzero leaderboard reproduce ROW_ID [--limit N] [--dry-run]
pretrainzero leaderboard list [--protocol P]
pretrainzero leaderboard regrade ROW_ID... | --all  re-score stored responses under the current protocol version
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


def _root(args: argparse.Namespace) -> Path:
    # Refuse to invent a leaderboards/ folder wherever the command happens to run.
    root = Path(args.root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"leaderboards folder {root} not found; run from the repository root or pass --root"
        )
    return root


def _render(args: argparse.Namespace) -> int:
    from pretrainzero.leaderboard.render import build_from, render

    root = _root(args)
    if args.check:
        out = build_from(root)
        stale = [
            name
            for name, text in (("README.md", out.markdown), ("index.html", out.html))
            if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != text
        ]
        if stale:
            print(f"out of date: {', '.join(stale)} (run `pretrainzero leaderboard render`)", file=sys.stderr)
            return 1
        print(f"up to date: {out.n_records} records")
        return 0
    out = render(root)
    # build() already refuses a mismatch; this makes the invariant visible to whoever runs it.
    print(
        f"rendered {out.n_records} records into {out.n_cells} cells, {out.n_tables} tables -> "
        f"{root / 'README.md'}, {root / 'index.html'}"
    )
    return 0


def _submit(args: argparse.Namespace) -> int:
    from pretrainzero.leaderboard.render import render
    from pretrainzero.leaderboard.store import submit

    root = _root(args)
    done = submit(
        Path(args.file),
        root / "results",
        samples=Path(args.samples) if args.samples else None,
        replace=args.replace,
        local_model=args.local_model,
    )
    print(f"added {done.path}" + (f" with samples {done.samples_path}" if done.samples_path else ""))
    if done.note:
        print(f"warning: {done.note}", file=sys.stderr)
    if not args.no_render:
        out = render(root)
        print(f"rendered {out.n_records} records into {out.n_cells} cells")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from pretrainzero.leaderboard.reproduce import eval_command, reproduce, reproduce_config
    from pretrainzero.leaderboard.store import find_record

    rec = find_record(_root(args) / "results", args.row_id)
    if args.dry_run:
        config = reproduce_config(rec.record, args.limit)
        print(f"# row {rec.id} ({rec.path})")
        print(f"# stored score {100 * rec.score:.2f}; stored config:")
        print(json.dumps(rec.record.to_dict()["config"], indent=2, sort_keys=True))
        print("# would call pretrainzero.eval.runner.run_eval(config, out_dir) with:")
        print(json.dumps(config, indent=2, sort_keys=True))
        print("# equivalent command:")
        print(eval_command(config, args.out))
        return 0
    from pretrainzero.leaderboard.checks import local_model_problem

    problem = local_model_problem(rec.record)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix=f"reproduce-{rec.id}-"))
    comparison, problems = reproduce(rec.record, out_dir, args.limit)  # SetupError: one line, exit 2 (cli.main)
    for p in problems:
        print(f"warning: new record: {p}", file=sys.stderr)
    print(comparison.summary())
    print(f"new results in {out_dir}")
    return 0 if comparison.within is not False else 1


def _regrade(args: argparse.Namespace) -> int:
    from pretrainzero.eval.regrade import RegradeError, regrade
    from pretrainzero.eval.results import read_samples, write_results
    from pretrainzero.leaderboard.render import render
    from pretrainzero.leaderboard.store import find_record, load_records

    root = _root(args)
    results = root / "results"
    records = load_records(results) if args.all else [find_record(results, rid) for rid in args.row_ids]
    if not records:
        print("error: name ROW_ID(s) or pass --all", file=sys.stderr)
        return 2
    failed = 0
    for rec in records:
        sf = rec.record.samples_file
        try:
            if not sf or not (rec.path.parent / sf).is_file():
                raise RegradeError(f"{rec.id}: no stored samples file, nothing to re-grade")
            record, rows = regrade(rec.record, read_samples(rec.path.parent / sf), args.data_dir)
        except (RegradeError, ValueError) as exc:  # a RecordError (ValueError) if the result would be invalid
            print(f"skipped: {' '.join(str(exc).split())}")
            failed += 1
            continue
        write_results(record, rows, results)
        if record.id != rec.id:  # superseded by the re-graded record of the new version
            rec.path.unlink()
            (rec.path.parent / sf).unlink(missing_ok=True)
        print(f"{rec.id} -> {record.id}: {100 * rec.score:.2f} -> {100 * record.metrics.score:.2f}")
    if not args.no_render:
        out = render(root)
        print(f"rendered {out.n_records} records into {out.n_cells} cells")
    return 0 if not failed or args.all else 1


def _list(args: argparse.Namespace) -> int:
    from pretrainzero.leaderboard.store import load_records

    records = [r for r in load_records(_root(args) / "results") if args.protocol in (None, r.protocol[0])]
    for r in records:
        ds = r.record.dataset
        se = "" if r.stderr is None else f" ± {100 * r.stderr:.2f}"
        subset = f"  [{r.subset_label}]" if r.subset_label else ""
        print(
            f"{r.id}  {100 * r.score:.2f}{se}  n={ds.n_evaluated}/{ds.n_total}"
            f"  v{r.protocol[1]}{subset}"
        )
    print(f"{len(records)} record(s)", file=sys.stderr)
    return 0


def schema_text() -> str:
    """The JSON Schema file's exact text (what ``leaderboards/schema/`` commits)."""
    from pretrainzero.record import json_schema

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def _schema(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.out is None:
        sys.stdout.write(text)
        return 0
    from pretrainzero.fileio import atomic_write_text

    atomic_write_text(args.out, text)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "leaderboard",
        help="render, submit, reproduce or list leaderboard rows",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--root",
        default=os.environ.get("PRETRAINZERO_LEADERBOARDS", "leaderboards"),
        help="leaderboards folder (default: ./leaderboards or $PRETRAINZERO_LEADERBOARDS)",
    )
    sub = parser.add_subparsers(dest="leaderboard_command", metavar="ACTION", required=True)

    p = sub.add_parser("render", help="regenerate README.md and index.html from results/ and reference/")
    p.add_argument(
        "--check", action="store_true", help="only report whether the generated files are up to date"
    )
    p.set_defaults(leaderboard_action=_render)

    p = sub.add_parser("submit", help="validate a results record and copy it into results/")
    p.add_argument("file", help="results JSON written by `pretrainzero eval`")
    p.add_argument("--samples", help="per-sample JSONL (default: the record's samples_file next to FILE)")
    p.add_argument("--replace", action="store_true", help="overwrite an existing row with the same id")
    p.add_argument("--local-model", action="store_true",
                   help="accept a model given as a local path and mark the row local-only (not reproducible)")
    p.add_argument("--no-render", action="store_true", help="do not regenerate README.md and index.html")
    p.set_defaults(leaderboard_action=_submit)

    p = sub.add_parser("reproduce", help="rerun a row's stored config and compare with the stored score")
    p.add_argument("row_id")
    p.add_argument("--limit", type=int, help="evaluate only the first N items (scores then differ in scope)")
    p.add_argument("--out", help="folder for the new results (default: a temporary folder)")
    p.add_argument(
        "--dry-run", action="store_true", help="print the stored config and the command; run nothing"
    )
    p.set_defaults(leaderboard_action=_reproduce)

    p = sub.add_parser("regrade", help="re-score stored responses under the current protocol version (no generation)")
    p.add_argument("row_ids", nargs="*", metavar="ROW_ID")
    p.add_argument("--all", action="store_true", help="every row (rows without stored responses are skipped)")
    p.add_argument("--data-dir", default=None, help="folder with the benchmark files the rows were made on")
    p.add_argument("--no-render", action="store_true", help="do not regenerate README.md and index.html")
    p.set_defaults(leaderboard_action=_regrade)

    p = sub.add_parser("schema", help="print the results record's JSON Schema (structure only; submit checks more)")
    p.add_argument("--out", help="write it to this file instead of standard output")
    p.set_defaults(leaderboard_action=_schema)

    p = sub.add_parser("list", help="list rows")
    p.add_argument("--protocol", help="only rows of this protocol id")
    p.set_defaults(leaderboard_action=_list)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return int(args.leaderboard_action(args))
