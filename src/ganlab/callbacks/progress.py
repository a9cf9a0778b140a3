"""Progress: a rich bar on a terminal, plain periodic log lines otherwise (CI, SLURM logs)."""

from __future__ import annotations

import logging
import sys

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ganlab.callbacks.base import Callback

log = logging.getLogger("ganlab")
SHOWN = ("train/loss_d", "train/loss_g", "train/d_real", "train/d_fake")


class ProgressBar(Callback):
    def __init__(self, *, every_n_steps: int = 50, rich: str = "auto"):  # rich: auto | always | never
        self.every, self.rich = every_n_steps, rich
        self.bar: Progress | None = None
        self.last_logged = -1

    def on_train_start(self, run):
        use_bar = self.rich == "always" or (self.rich == "auto" and sys.stdout.isatty())
        if use_bar:
            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[stats]}"), TextColumn("{task.fields[rate]}"),
                                TimeElapsedColumn(), TimeRemainingColumn(), console=run.console)
            self.task = self.bar.add_task("train", total=run.total_steps, completed=run.step,
                                          stats="", rate="")
            self.bar.start()
        self.t_step = (run.wall_time, run.step)

    def _rate(self, run) -> float:
        t, s = self.t_step
        dt = run.wall_time - t
        return (run.step - s) / dt if dt > 0 else 0.0

    def on_step_end(self, run, metrics):
        stats = "  ".join(f"{k.split('/')[-1]}={metrics[k]:.3f}" for k in SHOWN if k in metrics)
        if self.bar is not None:
            fields = {"stats": stats} if stats else {}
            if stats:
                fields["rate"] = f"{self._rate(run):.1f} it/s"
            self.bar.update(self.task, completed=run.step, description=f"epoch {run.epoch}", **fields)
        elif metrics and (run.step - self.last_logged >= self.every or run.step == run.total_steps):
            self.last_logged = run.step
            log.info("step %d/%d epoch %d  %s  %.1f it/s", run.step, run.total_steps, run.epoch, stats,
                     self._rate(run))

    def on_eval_end(self, run, metrics):
        text = "  ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))
        (run.console.log if self.bar is not None else log.info)(f"eval @ step {run.step}: {text}")

    def on_train_end(self, run, status):
        if self.bar is not None:
            self.bar.stop()
