"""<run dir>/metrics.csv: every logged scalar as one row `step,metric,value`, under the same
names as TensorBoard's tags. Long rather than wide: a metric that first appears mid-run (an
evaluation, a switch statistic) needs no new column. Images, text and hyper-parameters stay in
samples/, summary.json and .hydra/ (callbacks/loggers.py has the logger interface)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ganlab.files import atomic_write_text

HEADER = ["step", "metric", "value"]


class CSVLogger:
    def __init__(self, *, filename: str = "metrics.csv"):  # inside the run directory
        self.filename = filename
        self.file = None

    def open(self, run_dir: Path, *, purge_step: int | None = None) -> None:
        self.path = run_dir / self.filename
        if purge_step is not None and self.path.is_file():
            # a resume re-logs the steps from purge_step on: drop the stopped run's rows there (and
            # a row a kill cut short), so the file ends equal to an uninterrupted run's
            atomic_write_text(self.path, _rows_text(_rows_before(self.path, purge_step)))
        fresh = not self.path.is_file() or self.path.stat().st_size == 0
        self.file = open(self.path, "a", newline="", buffering=1)  # line-buffered: each row reaches the OS
        self.writer = csv.writer(self.file)
        if fresh:
            self.writer.writerow(HEADER)

    def scalar(self, name: str, value: float, step: int) -> None:
        self.writer.writerow([step, name, repr(float(value))])  # repr: reads back bit for bit

    def text(self, name: str, text: str, step: int) -> None: ...

    def image(self, name: str, img, step: int) -> None: ...

    def figure(self, name: str, fig, step: int) -> None: ...

    def hparams(self, hparams: dict, metric_tags: list[str]) -> None: ...

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _rows_before(path: Path, step: int) -> list[list[str]]:
    rows = []
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) == 3 and row[0].isdigit() and int(row[0]) < step:
                try:
                    float(row[2])
                except ValueError:
                    continue
                rows.append(row)
    return rows


def _rows_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    w.writerows(rows)
    return buf.getvalue()

