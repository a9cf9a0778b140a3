"""`ganlab compare PATHS... [--sort KEY[:asc|:desc]] [--csv PATH] [--metrics m1,m2]`: a table of
runs (the overrides that differ, status, steps, wall time, best monitored value, last metrics), and
the same grouped over seeds (mean ± std, n, best seed) when runs differ only by their seed."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ganlab.analysis.runs import RunRecord, fmt, human_time, wall_time
from ganlab.files import atomic_write_text


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[dict]
    keys: list[str] = field(default_factory=list)  # the override columns
    text: dict[str, Callable] = field(default_factory=dict)  # column -> how to show a cell


def run_params(run: RunRecord) -> dict[str, str]:
    """What defines a run: its overrides, plus the seed even when it came from the config."""
    params = dict(run.overrides)
    if "seed" not in params and run.seed is not None:
        params["seed"] = str(run.seed)
    return params


def default_value(run: RunRecord, key: str) -> str | None:
    """What a run used for a key it did not override: its config group's option or config value."""
    if key in run.choices:
        return run.choices[key]
    node = run.config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return None if isinstance(node, dict | list) else str(node)


def differing_keys(params: list[dict[str, str]]) -> list[str]:
    keys = list(dict.fromkeys(k for p in params for k in p))
    return [k for k in keys if len({p.get(k) for p in params}) > 1]


def monitors(runs: list[RunRecord]) -> dict[str, str]:
    """monitor -> mode, most used monitor first."""
    counts = Counter(r.best["monitor"] for r in runs if r.best and r.best.get("monitor"))
    modes = {r.best["monitor"]: r.best.get("mode", "min") for r in runs if r.best and r.best.get("monitor")}
    return {m: modes[m] for m, _ in counts.most_common()}


def pick_metrics(runs: list[RunRecord], requested: list[str] | None) -> list[str]:
    if requested:
        return requested
    val = sorted({k for r in runs for k in r.metrics if k.startswith("val/")})
    return val or ["train/loss_d", "train/loss_g"]


def unique_names(runs: list[RunRecord]) -> list[str]:
    names = [r.name for r in runs]
    dup = {n for n, c in Counter(names).items() if c > 1}
    return [f"{r.path.parent.name}/{r.name}" if r.name in dup else r.name for r in runs]


def best_col(monitor: str) -> str:
    return f"best {monitor}"


def runs_table(runs: list[RunRecord], *, metrics: list[str], all_metrics: bool = False) -> Table:
    params = [run_params(r) for r in runs]
    diff = differing_keys(params)
    mons = monitors(runs)
    if all_metrics:  # CSV: every metric any run has, the requested ones first
        metrics = list(dict.fromkeys(metrics + sorted({k for r in runs for k in r.metrics})))
    rows = []
    for run, name, p in zip(runs, unique_names(runs), params):
        values = {k: p[k] if k in p else default_value(run, k) for k in diff}  # defaults by value
        row = {"name": name, **values, "status": run.status,
               "steps": run.summary.get("step"), "wall": wall_time(run.summary)}
        for m in mons:
            b = run.best or {}
            row[best_col(m)] = b.get("value") if b.get("monitor") == m else None
        row.update({m: run.metrics.get(m) for m in metrics})
        row["_run"], row["_params"] = run, p
        rows.append(row)
    columns = ["name", *diff, "status", "steps", "wall", *map(best_col, mons), *metrics]
    return Table(title=f"{len(runs)} runs", columns=columns, rows=rows, keys=diff, text={"wall": human_time})


def _mean(values: list) -> float | None:
    values = [v for v in values if isinstance(v, int | float)]
    return statistics.fmean(values) if values else None


def _mean_std(values: list[float]) -> tuple[float, float] | None:
    if not values:
        return None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _show_mean_std(ms) -> str:
    if ms is None:
        return "-"
    mean, std = ms
    return f"{mean:.4g} ± {std:.2g}"


def seed_groups(table: Table) -> Table | None:
    """One row per set of runs that differ only by their seed; None when there is no such set."""
    keys = table.keys
    if "seed" not in keys:
        return None
    by: dict[tuple, list[dict]] = {}
    for row in table.rows:
        by.setdefault(tuple(row.get(k) for k in keys if k != "seed"), []).append(row)
    if all(len(g) == 1 for g in by.values()):
        return None
    others = [k for k in keys if k != "seed"]
    mons = monitors([r["_run"] for r in table.rows])
    value_cols = [c for c in table.columns if c not in ("name", "status", "steps", "wall", *keys)]
    rows = []
    for members in by.values():
        row = {"group": ",".join(f"{k}={members[0][k]}" for k in others) or "all runs",
               **{k: members[0][k] for k in others}, "n": len(members),
               "seeds": " ".join(sorted((str(m["seed"]) for m in members), key=_sort_value)),
               "status": " ".join(f"{n} {s}" for s, n in Counter(m["status"] for m in members).items()),
               "steps": _mean([m["steps"] for m in members]), "wall": _mean([m["wall"] for m in members])}
        for c in value_cols:
            row[c] = _mean_std([float(m[c]) for m in members if isinstance(m[c], int | float)])
        for mon, mode in mons.items():
            scored = [m for m in members if m[best_col(mon)] is not None]
            if scored:
                top = (max if mode == "max" else min)(scored, key=lambda m: m[best_col(mon)])
                row[f"best-of {mon}"] = (top[best_col(mon)], top["seed"])
            else:
                row[f"best-of {mon}"] = None
        rows.append(row)
    # the differing keys' values label a group; "group" is only there when nothing else differs
    columns = [*(others or ["group"]), "n", "seeds", "status", "steps", "wall", *value_cols,
               *(f"best-of {m}" for m in mons)]
    text = {"wall": human_time, **{c: _show_mean_std for c in value_cols},
            **{f"best-of {m}": lambda b: "-" if b is None else f"{b[0]:.4g} (seed {b[1]})" for m in mons}}
    return Table(title=f"grouped over seeds ({len(rows)} group{'s' * (len(rows) > 1)}; mean ± std over seeds)", columns=columns,
                 rows=rows, keys=others, text=text)


def resolve_sort(spec: str, columns: list[str], mons: dict[str, str]) -> tuple[str, bool]:
    """KEY[:asc|:desc] -> (column, descending). KEY may be a column or its last part ('fid' for
    'val/fid'); without a direction the monitored metric sorts best first, anything else ascending."""
    key, _, direction = spec.partition(":")
    if direction not in ("", "asc", "desc"):
        raise ValueError(f"--sort {spec!r}: the direction is :asc or :desc")
    plain = [c for c in columns if " " not in c]
    matches = ([c for c in columns if c == key] or [c for c in plain if c.split("/")[-1] == key]
               or [c for c in columns if c.split(" ")[0] == key]  # 'best' -> 'best <monitor>'
               or [c for c in columns if c.split("/")[-1] == key]
               or [c for c in plain if c.split("/")[-1].split("_")[0] == key])  # 'fid' -> 'val/fid_random_conv'
    if not matches:
        raise ValueError(f"--sort {key!r}: no such column; columns: {', '.join(columns)}")
    col = matches[0]
    if direction:
        return col, direction == "desc"
    monitor = col.split(" ", 1)[1] if col.startswith(("best ", "best-of ")) else col
    return col, mons.get(monitor) == "max"


def _sort_value(v):
    if isinstance(v, tuple):  # mean ± std, or best-of (value, seed)
        v = v[0]
    if isinstance(v, int | float):
        return (0, float(v), "")
    try:
        return (0, float(v), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(v))


def sort_rows(table: Table, column: str, *, descending: bool) -> None:
    present = [r for r in table.rows if r.get(column) is not None]
    missing = [r for r in table.rows if r.get(column) is None]  # always last
    table.rows = sorted(present, key=lambda r: _sort_value(r[column]), reverse=descending) + missing


def show(table: Table, console) -> None:
    """The table for a terminal: short run names (the differing keys have their own columns),
    metric headers without their namespace and wrapped at '_', so ~120 columns suffice."""
    from rich.table import Table as RichTable

    t = RichTable(title=table.title, title_justify="left")
    for c in table.columns:
        t.add_column(_header(c), no_wrap=True, justify="left" if c in ("name", "group", "status") else "right")
    for r in table.rows:
        cells = [table.text.get(c, fmt)(r.get(c)) if r.get(c) is not None else "-" for c in table.columns]
        t.add_row(*(_short_name(v) if c == "name" else v for c, v in zip(table.columns, cells)))
    console.print(t)


def _header(column: str, width: int = 11) -> str:
    """`best val/fid_random_conv` -> `best` / `val/fid_` / `random_conv`: lines of at most ~width,
    broken after '/' and '_' (the full name, namespace included, stays readable top to bottom)."""
    lines = []
    for word in column.split(" "):
        line = ""
        for piece in word.replace("_", "_\n").replace("/", "/\n").split("\n"):
            if line and len(line) + len(piece) > width:
                lines.append(line)
                line = ""
            line += piece
        lines.append(line)
    return "\n".join(lines)


def _short_name(name: str, limit: int = 22) -> str:
    """A sweep job's number (`3_loss=...` -> `#3`), else the name cut in the middle."""
    head = name.split("/")[-1].split("_", 1)[0]
    if head.isdigit() and "=" in name:
        return f"#{head}"
    return name if len(name) <= limit else f"{name[:limit // 2 - 1]}…{name[-(limit // 2):]}"


def write_csv(table: Table, path: Path) -> None:
    """The table as CSV, written whole (atomic_write_text): a failure keeps the previous file."""
    f = io.StringIO(newline="")
    w = csv.writer(f)
    header = []
    for c in table.columns:  # tuples (mean, std) / (value, seed) become two CSV columns
        sample = next((r[c] for r in table.rows if r.get(c) is not None), None)
        if isinstance(sample, tuple):
            header += [f"{c} mean", f"{c} std"] if not c.startswith("best-of") else [c, f"{c} seed"]
        else:
            header.append(c)
    w.writerow(["run_dir", *header] if "name" in table.columns else header)
    for r in table.rows:
        cells = [str(r["_run"].path)] if "name" in table.columns else []
        for c in table.columns:
            sample = next((x[c] for x in table.rows if x.get(c) is not None), None)
            v = r.get(c)
            if isinstance(sample, tuple):
                cells += ["", ""] if v is None else list(v)
            else:
                cells.append("" if v is None else v)
        w.writerow(cells)
    atomic_write_text(path, f.getvalue())


def build(runs: list[RunRecord], *, metrics: list[str], sort: str | None,
          all_metrics: bool = False) -> tuple[Table, Table | None, str]:
    """The runs table and the seed groups (or None), both sorted; and the sort as 'column:asc|desc'."""
    table = runs_table(runs, metrics=metrics, all_metrics=all_metrics)
    mons = monitors(runs)
    if sort:
        col, desc = resolve_sort(sort, table.columns, mons)
    else:  # the leaderboard: best monitored value first
        col, desc = (best_col(next(iter(mons))), next(iter(mons.values())) == "max") if mons else ("name", False)
    sort_rows(table, col, descending=desc)
    groups = seed_groups(table)
    if groups and col in groups.columns:  # otherwise groups keep the order of their first run
        sort_rows(groups, col, descending=desc)
    return table, groups, f"{col}:{'desc' if desc else 'asc'}"
