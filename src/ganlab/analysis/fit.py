"""Tables that fit the terminal (`ganlab compare`, `ganlab runs`): nothing is ever cut. Metric
headers are abbreviated the same way everywhere (a legend under the table says what each stands
for); when the table is still too wide, optional columns are dropped (a line says which, and how
to show them); required columns wrap rather than lose characters."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

HEADER_LIMIT = 12  # metric names longer than this are abbreviated (`fid_random_conv` -> `fid_rc`)


@dataclass
class Column:
    key: str                  # what the caller calls it (a metric's full name, 'status', ...)
    header: str
    cells: list[str]
    required: bool = False    # never dropped; may wrap
    justify: str = "right"
    priority: int = 0         # among optional columns, the highest is dropped first (then the rightmost)
    names: tuple[str, ...] = ()  # the metrics whose abbreviations it shows (default: its key)


def _shorten(name: str, limit: int) -> str:
    """`fid_random_conv` -> `fid_rc`, `d_overfit_gap` -> `d_overfit_g`: past `limit`, the words
    after the first (the first two when the first is a letter or two) become their initials."""
    words = name.split("_")
    keep = 2 if len(words[0]) <= 2 and len(words) > 2 else 1
    if len(name) <= limit or len(words) <= keep:
        return name
    return "_".join(words[:keep]) + "_" + "".join(w[:1] for w in words[keep:])


def wrap_header(text: str, width: int) -> str:
    """A header over lines of at most ~width, broken after '.', '/', '_' and at spaces: a long
    override name (`trainer.max_steps`) wraps where it reads well instead of anywhere."""
    lines = []
    for word in text.split(" "):
        line = ""
        for piece in word.replace("_", "_\n").replace("/", "/\n").replace(".", ".\n").split("\n"):
            if line and len(line) + len(piece) > width:
                lines.append(line)
                line = ""
            line += piece
        lines.append(line)
    return "\n".join(lines)


def abbreviations(names: list[str], limit: int = HEADER_LIMIT) -> dict[str, str]:
    """Metric name -> header: the namespace dropped where the rest is unique among `names`, long
    names shortened; a name whose short form would clash with another's keeps its full form."""
    tails = Counter(n.split("/")[-1] for n in names)
    out = {n: n.split("/")[-1] if tails[n.split("/")[-1]] == 1 else n for n in names}
    short = {n: _shorten(h, limit) for n, h in out.items()}
    taken = Counter(short.values())
    return {n: short[n] if taken[short[n]] == 1 and short[n] not in names else out[n] for n in names}


def legend(abbrev: dict[str, str]) -> str:
    """`fid_rc = val/fid_random_conv, ...` for the headers that differ from their metric's name."""
    parts = [f"{h} = {n}" for n, h in abbrev.items() if h != n]
    return ", ".join(parts)


def _build(title: str, columns: list[Column], *, wrap: bool = False) -> Table:
    """wrap: headers wrapped to their column's widest cell (the table is too wide otherwise)."""
    t = Table(title=title, title_justify="left")
    n_rows = len(columns[0].cells) if columns else 0
    for c in columns:  # fold: a cell that must wrap keeps every character
        header = wrap_header(c.header, max(4, *map(len, c.cells))) if wrap else c.header
        t.add_column(header, justify=c.justify, overflow="fold")
    for i in range(n_rows):
        t.add_row(*(c.cells[i] for c in columns))
    return t


def natural_width(table: Table) -> int:
    buf = Console(width=100_000, file=io.StringIO(), color_system=None)
    buf.print(table)
    return max((len(ln) for ln in buf.file.getvalue().splitlines()), default=0)


def fit(title: str, columns: list[Column], width: int) -> tuple[Table, list[Column]]:
    """The table with as many columns as fit in `width`, optional ones dropped from the end of
    the list first; and the dropped columns."""
    shown, dropped = list(columns), []
    for wrap in (False, True):  # first whole headers, then headers over several lines
        while natural_width(_build(title, shown, wrap=wrap)) > width:
            optional = [c for c in shown if not c.required]
            if not optional or (not wrap and natural_width(_build(title, shown, wrap=True)) <= width):
                break  # wrapped headers make room; required columns only: rich folds them (never an ellipsis)
            drop = max(optional, key=lambda c: (c.priority, shown.index(c)))
            shown.remove(drop)
            dropped.append(drop)
        if natural_width(_build(title, shown, wrap=wrap)) <= width:
            break
    return _build(title, shown, wrap=wrap), sorted(dropped, key=columns.index)


def print_fitted(console: Console, title: str, columns: list[Column], *, abbrev: dict[str, str],
                 how_to_show: str) -> list[Column]:
    """Print the fitted table, the legend of the abbreviated headers it shows, and which columns
    did not fit with `how_to_show` (what to pass to see them). Returns the dropped columns."""
    table, dropped = fit(title, columns, console.width)
    console.print(table)
    shown = {n for c in columns if c not in dropped for n in (c.names or (c.key,))}
    shown_abbrev = {n: h for n, h in abbrev.items() if n in shown}
    if legend(shown_abbrev):
        console.print(legend(shown_abbrev), highlight=False)
    if dropped:
        names = ", ".join(c.key for c in dropped)
        console.print(f"not shown (too wide for {console.width} columns): {names}; {how_to_show}", highlight=False)
    return dropped
