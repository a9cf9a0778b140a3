"""`ganlab report RUN_DIR`: one self-contained HTML page about a run."""

from __future__ import annotations

import click

from ganlab.errors import UsageError


@click.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", help="HTML file to write  [default: RUN_DIR/report.html]")
def command(run_dir: str, out: str | None) -> None:
    """A self-contained HTML report of a run: config, events, curves, samples."""
    from ganlab.analysis.report import write_report
    try:
        path = write_report(run_dir, out=out)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from e
    print(path)
