"""Progress: a rich bar on a terminal (log lines print above it), plain log lines every
`every_n_steps` otherwise (CI, SLURM logs); both with the recent it/s (evaluation excluded) and
the time left. Every line also reaches train.log."""

from __future__ import annotations

import logging
import sys
import time

from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ganlab.callbacks.base import Callback, RunView

log = logging.getLogger("ganlab")
D_OUTPUTS = ("train/d_real", "train/d_fake")


def losses(names) -> list[str]:
    """The losses a step line and the `final:` line show: a GAN's D and G losses; any other
    algorithm's own (`train/loss_fm` of flow, `train/loss_v` of DDPM, the VAE's `loss_rec` and
    `loss_kl`): every `train/loss*` it logs."""
    names = list(names)
    gan = [k for k in ("train/loss_d", "train/loss_g") if k in names]
    return gan or sorted(k for k in names if k.startswith("train/loss"))


def file_only(record: logging.LogRecord) -> bool:
    """A console handler's filter: records marked `extra={"file_only": True}` go to train.log only."""
    return not getattr(record, "file_only", False)


class ProgressBar(Callback):
    def __init__(self, *, every_n_steps: int = 50, rich: str = "auto"):  # rich: auto | always | never
        self.every, self.rich = every_n_steps, rich
        self.bar: Progress | None = None
        self.last_logged = -1
        self.swapped: list[tuple[logging.Logger, logging.Handler, logging.Handler]] = []

    def on_train_start(self, run: RunView):
        # a sweep job's console may be shared by parallel jobs: their bars would overwrite each other
        use_bar = self.rich == "always" or (self.rich == "auto" and sys.stdout.isatty()
                                            and not getattr(run, "console_prefix", ""))
        if use_bar:
            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[stats]}"), TextColumn("{task.fields[rate]}"),
                                TimeElapsedColumn(), console=run.console)
            self.task = self.bar.add_task("train", total=run.total_steps, completed=run.step, stats="", rate="")
            self.bar.start()
            self._log_above_the_bar(run.console)
        self.window = (time.perf_counter(), run.step)

    def _log_above_the_bar(self, console) -> None:
        """Console log handlers write through the bar's console (above the bar, not onto it);
        file handlers (train.log) stay as they are."""
        for logger in (logging.getLogger(), log):
            for h in list(logger.handlers):
                if type(h) is logging.StreamHandler:  # the same short lines as without the bar
                    rich = RichHandler(console=console, show_path=False, show_level=False, show_time=False,
                                       markup=False, highlighter=None)
                    rich.setFormatter(h.formatter)
                    rich.setLevel(h.level)
                    rich.addFilter(file_only)  # the bar shows the step: its lines go to train.log
                    logger.removeHandler(h)
                    logger.addHandler(rich)
                    self.swapped.append((logger, h, rich))

    def _rate_and_eta(self, run: RunView) -> str:
        """it/s since the last report (evaluation excluded), and the time left at that pace."""
        t0, s0 = self.window
        now = time.perf_counter()
        rate = (run.step - s0) / (now - t0) if now > t0 and run.step > s0 else 0.0
        self.window = (now, run.step)
        left = (run.total_steps - run.step) / rate if rate else 0.0
        return f"{rate:.1f} it/s  ETA {_hms(left)}" if rate else ""

    def on_step_end(self, run: RunView, metrics):
        shown = losses(metrics) + [k for k in D_OUTPUTS if k in metrics]
        stats = "  ".join(f"{k.split('/')[-1]}={metrics[k]:.3f}" for k in shown)
        rate = None
        if self.bar is not None and stats:
            rate = self._rate_and_eta(run)
            self.bar.update(self.task, completed=run.step, description=f"epoch {run.epoch}", stats=stats, rate=rate)
        elif self.bar is not None:
            self.bar.update(self.task, completed=run.step, description=f"epoch {run.epoch}")
        if metrics and (run.step - self.last_logged >= self.every or run.step == run.total_steps):
            # every log_every steps a line: on the console when piped; in train.log always
            self.last_logged = run.step
            log.info("step %d/%d epoch %d  %s  %s", run.step, run.total_steps, run.epoch, stats,
                     rate if rate is not None else self._rate_and_eta(run),
                     extra={"file_only": self.bar is not None})

    def on_eval_end(self, run: RunView, metrics):
        text = "  ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))
        log.info("eval @ step %d: %s", run.step, text)
        self.window = (time.perf_counter(), run.step)  # the pace excludes evaluation

    def on_train_end(self, run: RunView, status):
        if self.bar is not None:
            self.bar.stop()
        for logger, plain, rich in self.swapped:
            logger.removeHandler(rich)
            logger.addHandler(plain)
        self.swapped = []


def _hms(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"
