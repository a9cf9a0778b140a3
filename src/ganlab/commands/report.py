"""`ganlab report <run_dir> [out=PATH]`: one self-contained HTML page about a run."""

from __future__ import annotations

from ganlab.analysis.report import write_report
from ganlab.errors import UsageError


def report_command(args: list[str]) -> None:
    # run dir names contain '=' (the overrides), so only out= is read as key=value
    out = [a.split("=", 1)[1] for a in args if a.startswith("out=")]
    positional = [a for a in args if not a.startswith("out=")]
    if len(positional) != 1 or len(out) > 1:
        raise UsageError("usage: ganlab report <run_dir> [out=PATH]")
    try:
        path = write_report(positional[0], out=out[0] if out else None)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from e
    print(path)
