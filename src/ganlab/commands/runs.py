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
    best monitored value; a run that trains now is found by its heartbeat (its step/total are the
    heartbeat's). PATHS default: outputs. The table fits the terminal: paths are shown below their
    common folder, and columns that do not fit are named under it."""
    from rich.console import Console

    from ganlab.analysis.fit import Column, abbreviations, print_fitted
    from ganlab.analysis.runs import find_runs, fmt, human_time, load_run
    specs = list(paths) or ["outputs"]
    found = find_runs(specs)
    if not found:
        raise UsageError(f"no run found under {', '.join(specs)} (ganlab train writes them to outputs/)")
    runs = sorted((load_run(p) for p in found), key=lambda r: r.path.stat().st_mtime, reverse=True)[:limit]
    # below the current folder: relative to it; the folder all runs share goes in the title
    paths_shown = [p if not p.startswith("..") else str(r.path) for r, p in ((r, os.path.relpath(r.path)) for r in runs)]
    common = os.path.commonpath(paths_shown) if len(runs) > 1 else os.path.dirname(paths_shown[0])
    if common:
        paths_shown = [os.path.relpath(p, common) for p in paths_shown]
    abbrev = abbreviations(sorted({r.best["monitor"] for r in runs if r.best}))
    rows = {"run": [], "status": [], "step": [], "wall": [], "best": [], "last beat": []}
    for r, path in zip(runs, paths_shown):
        beat, best = r.heartbeat, r.best
        step, total, wall = r.progress
        rows["run"].append(path)
        rows["status"].append(r.status)
        rows["step"].append(f"{fmt(step)}/{fmt(total)}")
        rows["wall"].append(human_time(wall))
        rows["best"].append(f"{abbrev[best['monitor']]}={fmt(best['value'])} @ {best['step']}" if best else "-")
        rows["last beat"].append(f"{human_time(time.time() - beat['time'])} ago" if beat.get("time") else "-")
    columns = [Column("run", "run", rows["run"], required=True, justify="left"),
               Column("status", "status", rows["status"], required=True, justify="left"),
               Column("step", "step", rows["step"], required=True),
               Column("wall", "wall", rows["wall"], priority=2),
               Column("best", "best", rows["best"], priority=1, justify="left", names=tuple(abbrev)),
               Column("last beat", "last beat", rows["last beat"], priority=3)]
    under = f" under {common}{os.sep}" if common else ""
    console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120)
    print_fitted(console, f"{len(runs)} of {len(found)} runs{under}, newest first", columns,
                 abbrev=abbrev,
                 how_to_show="a wider terminal (COLUMNS=200) shows them")
