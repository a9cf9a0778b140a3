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

from ganlab.analysis.runs import RunRecord, fmt, human_time, mean_std, wall_time
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


DEFAULT_EXTRA_METRICS = 3  # shown beside the monitored metric unless --metrics says otherwise
# which val/ metrics go first among the extra ones (by their name's first word); then by name.
# nll (val/nll_bpd) right after the FID: a sweep over GAN, VAE, flow and DDPM shows both by default
PREFERRED = ("fid", "nll", "kid", "modes", "hq", "reverse", "mask", "bg", "stripe", "success", "precision", "recall")


def pick_metrics(runs: list[RunRecord], requested: list[str] | None) -> list[str]:
    """The metric columns a terminal shows: `requested` (['all']: every metric any run has), else
    the monitored metric and at most 3 more val/ metrics (the losses when there are none)."""
    every = sorted({k for r in runs for k in r.metrics})
    if requested == ["all"]:
        return every
    if requested:
        return requested
    val = [k for k in every if k.startswith("val/")] or [k for k in every if k.startswith("train/loss")]
    mons = [m for m in monitors(runs) if m in val]
    rest = sorted((k for k in val if k not in mons), key=lambda k: (_preference(k), k))
    return (mons[:1] + rest)[:1 + DEFAULT_EXTRA_METRICS] if mons else rest[:1 + DEFAULT_EXTRA_METRICS]


def _preference(metric: str) -> int:
    word = metric.split("/")[-1].split("_")[0]
    return PREFERRED.index(word) if word in PREFERRED else len(PREFERRED)


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
    text = {"wall": human_time, **{c: lambda ms: mean_std(ms, ".4g", ".2g") for c in value_cols},
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


FIXED = ("name", "group", "status", "steps", "wall", "n", "seeds")


def show(table: Table, console, *, metrics: list[str] | None = None) -> list[str]:
    """The table at the console's width with nothing cut: short run names (the differing keys
    have their own columns), abbreviated metric headers with a legend; the run names, the keys,
    status, steps and the monitored value always shown, other columns dropped (and named) when
    they do not fit. `metrics`: the metric columns to show (default: all the table has).
    Returns the names of the dropped columns."""
    from ganlab.analysis.fit import Column, abbreviations, print_fitted

    is_metric = [c for c in table.columns if c not in FIXED and c not in table.keys and " " not in c]
    shown_metrics = [m for m in (metrics if metrics is not None else is_metric) if m in is_metric]
    named = [c.split(" ", 1)[1] for c in table.columns if c.startswith(("best ", "best-of "))]
    abbrev = abbreviations(list(dict.fromkeys(shown_metrics + named)))

    def cells(col: str) -> list[str]:
        show_cell = table.text.get(col, fmt)
        return [show_cell(r.get(col)) if r.get(col) is not None else "-" for r in table.rows]

    columns = []
    names = _short_names([r.get("name") for r in table.rows]) if "name" in table.columns else []
    for col in table.columns:
        if col in is_metric and col not in shown_metrics:
            continue
        kind, _, metric = col.partition(" ")
        if col in ("name", "group"):
            columns.append(Column(col, col, names or cells(col), required=True, justify="left"))
        elif col in table.keys or col in ("status", "steps", "n"):
            columns.append(Column(col, col, cells(col), required=True, justify="left" if col != "n" else "right"))
        elif kind in ("best", "best-of"):
            first = metric == next(iter(named), None)
            if kind == "best" and metric in shown_metrics and cells(col) == cells(metric):
                continue  # the best value is the last one in every row: the metric's column says it
            columns.append(Column(col, f"{kind} {abbrev[metric]}", cells(col), required=first and kind == "best",
                                  priority=3 if kind == "best-of" else 2, names=(metric,)))
        elif col in is_metric:  # with no best column, the first metric shown always stays
            columns.append(Column(col, abbrev[col], cells(col), required=not named and col == shown_metrics[0],
                                  priority=1 if named and col == named[0] else 2))
        else:  # wall, seeds: context, first to go
            columns.append(Column(col, col, cells(col), priority=4))
    dropped = print_fitted(console, table.title, columns, abbrev=abbrev,
                           how_to_show="a wider terminal (COLUMNS=200) or fewer --metrics shows them")
    return [c.key for c in dropped]


def _short_names(names: list[str]) -> list[str]:
    """Run names without what other columns say: a sweep job's number (`3_loss=...` -> `#3`), a
    single run's start time (`08-01-38_loss=hinge` -> `08-01-38`); the full name where the short
    ones would not tell runs apart (never cut)."""
    short = []
    for name in names:
        last = name.split("/")[-1]
        head, _, rest = last.partition("_")
        if head.isdigit() and "=" in rest:
            short.append(f"#{head}")
        elif len(head) == 8 and head.count("-") == 2 and "=" in rest:
            short.append(name[: len(name) - len(last)] + head)
        else:
            short.append(name)
    return short if len(set(short)) == len(short) else names


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
