"""Where the commands report: one stderr console, and the one way a command fails on purpose
(one line, an exit code: 2 bad input, see ganlab.errors)."""

from __future__ import annotations

import sys

from rich.console import Console

err = Console(stderr=True, soft_wrap=True)  # long paths stay on one line


def fail(message: object, code: int) -> None:
    err.print(f"[red]error:[/] {message}", highlight=False)
    sys.exit(code)
