"""`ganlab compare PATHS...`: a table of runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ganlab.errors import UsageError


@click.command("compare")
@click.argument("paths", nargs=-1, required=True)
@click.option("--sort", metavar="KEY[:asc|:desc]", help="column to sort by  [default: the monitored metric, best first]")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="also write the table (all columns) as CSV; groups go to <stem>_grouped.csv")
@click.option("--metrics", metavar="M1,M2|all",
              help="metrics to show  [default: the monitored one and 3 more val/ metrics, else the losses; "
                   "all: every metric]")
def command(paths: tuple[str, ...], sort: str | None, csv_path: Path | None, metrics: str | None) -> None:
    """A table of runs (run dirs, folders holding runs, globs): the overrides that differ, status,
    steps, wall time, best monitored value, last metrics; and the same grouped over seeds (mean ±
    std, n, best seed) when runs differ only by seed. The table fits the terminal: headers are
    abbreviated (a legend follows), and columns that do not fit are named under it."""
    from rich.console import Console

    from ganlab.analysis.compare import build, pick_metrics, show, write_csv
    from ganlab.analysis.runs import find_runs, load_run
    found = find_runs(list(paths))
    if not found:
        raise UsageError(f"no run found (no summary.json or tb/ below): {', '.join(paths)}")
    runs = [load_run(p) for p in found]
    requested = [m.strip() for m in (metrics or "").split(",") if m.strip()]
    shown = pick_metrics(runs, requested or None)
    try:  # every metric in the table (the CSV has them all); the console shows `shown`
        table, groups, sort = build(runs, metrics=shown, sort=sort, all_metrics=True)
    except ValueError as e:
        raise UsageError(str(e)) from e
    sorted_by = sort.rsplit(":", 1)[0]
    if sorted_by in table.columns and sorted_by not in shown and " " not in sorted_by and sorted_by.count("/"):
        shown.append(sorted_by)  # the column the rows are sorted by is on screen
    # piped output (`| less`, a file) is not a terminal: room for the table unless COLUMNS says
    console = Console() if sys.stdout.isatty() or "COLUMNS" in os.environ else Console(width=400)
    show(table, console, metrics=shown)
    if groups:
        show(groups, console, metrics=shown)
    more = sorted({k for r in runs for k in r.metrics} - set(shown))
    if more and requested != ["all"]:
        console.print(f"{len(more)} more metric{'s' * (len(more) > 1)} in the runs' summaries: "
                      "--metrics all shows them, --metrics m1,m2 picks", highlight=False)
    if csv_path:  # the same rows in the same order, with every metric
        write_csv(table, csv_path)
        console.print(f"wrote {csv_path}")
        if groups:
            gpath = csv_path.with_name(f"{csv_path.stem}_grouped.csv")
            write_csv(groups, gpath)
            console.print(f"wrote {gpath}")
