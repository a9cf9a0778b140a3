"""Where the commands report: one stderr console, the one way a command fails on purpose (one
line, an exit code: 2 bad input, see ganlab.errors), and the benches' wide console and tables."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

err = Console(stderr=True, soft_wrap=True)  # long paths stay on one line


def fail(message: object, code: int) -> None:
    # one line, whatever the message holds (a library's multi-line text inside it): a script reads it
    line = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    err.print(f"[red]error:[/] {escape(line)}", highlight=False)
    sys.exit(code)


def wide_console() -> Console:
    """At least 120 columns: a bench's table stays readable in logs and pipes too."""
    return Console(width=max(120, Console().width))


def results_table(title: str, columns, **column_style) -> Table:
    """A bench's table: one column per name, each with the same style (justify=..., no_wrap=...)."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col, **column_style)
    return table


class ShortFormatter(logging.Formatter):
    """Console log lines (conf/hydra/job_logging/ganlab.yaml): `HH:MM:SS message`, with the level
    named from warnings up; train.log keeps the full format."""

    def __init__(self, *args, **kwargs):  # logging's dictConfig passes format=, datefmt=...: ours win
        super().__init__("%(asctime)s %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno >= logging.WARNING:
            stamp, _, rest = text.partition(" ")
            text = f"{stamp} {record.levelname.lower()}: {rest}"
        return text
