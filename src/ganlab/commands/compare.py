"""`ganlab compare <dirs or globs> [--sort KEY[:asc|:desc]] [--csv PATH] [--metrics m1,m2]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ganlab.analysis.compare import build, pick_metrics, show, write_csv
from ganlab.analysis.runs import find_runs, load_run
from ganlab.errors import UsageError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganlab compare", description="A table of runs: the overrides that differ, "
                                "status, steps, wall time, best monitored value, last metrics; and the same "
                                "grouped over seeds (mean ± std, n, best seed) when runs differ only by seed.")
    p.add_argument("paths", nargs="+", help="run dirs, folders holding runs (searched recursively), globs")
    p.add_argument("--sort", metavar="KEY[:asc|:desc]", help="column to sort by, KEY[:asc|:desc] (default: the monitored metric, best first)")
    p.add_argument("--csv", type=Path, metavar="PATH",
                   help="also write the table (all columns) as CSV; groups go to <stem>_grouped.csv")
    p.add_argument("--metrics", metavar="M1,M2",
                   help="comma-separated metrics to show (default: the val/ metrics, else the losses)")
    return p


def compare_command(args: list[str]) -> None:
    from rich.console import Console

    opts = _parser().parse_args(args)
    paths = find_runs(opts.paths)
    if not paths:
        raise UsageError(f"no run found (no summary.json or tb/ below): {', '.join(opts.paths)}")
    runs = [load_run(p) for p in paths]
    requested = [m.strip() for m in (opts.metrics or "").split(",") if m.strip()]
    metrics = pick_metrics(runs, requested or None)
    try:
        table, groups, sort = build(runs, metrics=metrics, sort=opts.sort)
    except ValueError as e:
        raise UsageError(str(e)) from e
    # piped output (tests, `| less`) is not a terminal: give the table room instead of 80 columns
    console = Console() if sys.stdout.isatty() else Console(width=400)
    show(table, console)
    if groups:
        show(groups, console)
    if opts.csv:  # the same rows in the same order, with every metric
        table, groups, _ = build(runs, metrics=metrics, sort=sort, all_metrics=True)
        write_csv(table, opts.csv)
        console.print(f"wrote {opts.csv}")
        if groups:
            gpath = opts.csv.with_name(f"{opts.csv.stem}_grouped.csv")
            write_csv(groups, gpath)
            console.print(f"wrote {gpath}")
