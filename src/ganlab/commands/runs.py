"""`ganlab runs [PATHS...]`: the runs under outputs/ (or the given folders), newest first."""

from __future__ import annotations

import os
import sys
import time

import click

from ganlab.errors import UsageError


@click.command("runs")
@click.argument("paths", nargs=-1)
@click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1), help="newest N runs")
def command(paths: tuple[str, ...], limit: int) -> None:
    """Runs with their status (running, stalled, ok, failed, interrupted), step/total, wall time and
    best monitored value; a run that trains now is found by its heartbeat. PATHS default: outputs."""
    from rich.console import Console
    from rich.table import Table

    from ganlab.analysis.runs import find_runs, fmt, human_time, load_run, wall_time
    specs = list(paths) or ["outputs"]
    found = find_runs(specs)
    if not found:
        raise UsageError(f"no run found under {', '.join(specs)} (ganlab train writes them to outputs/)")
    runs = sorted((load_run(p) for p in found), key=lambda r: r.path.stat().st_mtime, reverse=True)[:limit]
    table = Table(title=f"{len(runs)} of {len(found)} runs, newest first", title_justify="left")
    for col in ("run", "status", "step", "wall", "best", "last beat"):
        table.add_column(col, justify="left" if col in ("run", "status", "best") else "right",
                         max_width=60 if col == "run" else None, overflow="ellipsis", no_wrap=True)
    for r in runs:
        beat, best = r.heartbeat, r.best
        step = r.summary.get("step", beat.get("step"))
        total = r.summary.get("total_steps", beat.get("total_steps"))
        wall = beat.get("wall_time_s") if r.status in ("running", "stalled") else wall_time(r.summary)
        table.add_row(os.path.relpath(r.path), r.status, f"{fmt(step)}/{fmt(total)}", human_time(wall),
                      f"{best['monitor']}={fmt(best['value'])} @ {best['step']}" if best else "-",
                      f"{human_time(time.time() - beat['time'])} ago" if beat.get("time") else "-")
    Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120).print(table)
