"""TensorBoard: the logger every part writes through, and the callback that feeds it."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from ganlab.callbacks.base import Callback, RunView
from ganlab.files import atomic_save_figure, atomic_save_image
from ganlab.sample_files import sample_path

log = logging.getLogger("ganlab")


class TensorBoardLogger:
    """Events in <run dir>/tb/ (callbacks/loggers.py has the logger interface)."""

    def __init__(self, *, flush_secs: int = 30):
        self.flush_secs = flush_secs
        self.writer = None

    def open(self, run_dir: Path, *, purge_step: int | None = None) -> None:
        # purge_step: events at steps >= it, written by the stopped run, are dropped
        self.dir = run_dir / "tb"
        self.writer = SummaryWriter(log_dir=str(self.dir), flush_secs=self.flush_secs, purge_step=purge_step)

    def scalar(self, name: str, value: float, step: int) -> None:
        self.writer.add_scalar(name, value, step)

    def text(self, name: str, text: str, step: int) -> None:
        self.writer.add_text(name, text, step)

    def image(self, name: str, img: torch.Tensor, step: int) -> None:
        self.writer.add_image(name, img.clamp(0, 1), step)

    def figure(self, name: str, fig, step: int) -> None:
        self.writer.add_figure(name, fig, step, close=False)  # other loggers draw it too

    def hparams(self, hparams: dict, metric_tags: list[str]) -> None:
        """The HParams plugin's record of this run: a session start (its hyper-parameters) and end,
        and NO experiment summary: the plugin would take the first run's for the whole logdir (other
        families' columns empty); without one it unites every run's hyper-parameters and scalar
        tags. No hparam/ scalar copies either (add_hparams writes them)."""
        if not metric_tags:  # the HParams tab compares runs by their metrics: none, no row
            return
        from torch.utils.tensorboard.summary import hparams as hparams_summary
        _, session_start, session_end = hparams_summary(hparams, {tag: 0.0 for tag in metric_tags})
        for summary in (session_start, session_end):
            self.writer.file_writer.add_summary(summary)

    def close(self) -> None:
        self.writer.close()


class TensorBoard(Callback):
    def __init__(self, *, sample_every_n_steps: int = 500,
                 hparams: tuple[str, ...] = (),  # config keys always in the HParams tab (+ the overridden ones)
                 max_sample_files: int = 0):     # 0 = keep all PNGs; else thin older ones
        self.sample_every = sample_every_n_steps
        self.hparam_keys = list(hparams)
        self.max_files = max_sample_files

    def on_step_end(self, run: RunView, metrics):
        for k, v in metrics.items():
            run.logger.scalar(k, v, run.step)
        if self.sample_every and (run.step % self.sample_every == 0 or run.step == 1):
            self.log_samples(run)

    def on_eval_end(self, run: RunView, metrics):
        for k, v in metrics.items():
            run.logger.scalar(k, v, run.step)

    def on_train_end(self, run: RunView, status):
        if status == "failed":
            return
        if self.sample_every:
            self.log_samples(run)
        # the run's own val/ metrics and the losses every family logs: what the console's `final:` shows
        metric_tags = sorted(k for k in run.metrics if k.startswith("val/") or k in COMMON_METRICS)
        run.logger.hparams(run_hparams(run, self.hparam_keys), metric_tags)

    def log_samples(self, run: RunView) -> None:
        if not hasattr(run.algorithm, "visuals"):  # an algorithm that draws nothing
            return
        out_dir = run.dir / "samples"
        out_dir.mkdir(exist_ok=True)
        with run.isolated_rng():
            visuals = run.algorithm.visuals(run)
        for name, vis in visuals.items():
            fname = sample_path(run.dir, name, run.step)
            if isinstance(vis, torch.Tensor):
                run.logger.image(f"samples/{name}", vis, run.step)
                atomic_save_image(fname, vis)
            else:
                atomic_save_figure(fname, vis, dpi=80)
                run.logger.figure(f"samples/{name}", vis, run.step)
                _pyplot().close(vis)
            if self.max_files:
                thin(sorted(out_dir.glob(f"{name.replace('/', '_')}_step*.png")), self.max_files)


COMMON_METRICS = ("train/loss_d", "train/loss_g")
# config groups that watch or log a run (or name the tuned file, whose keys the model's own
# options already show) rather than change what it trains: not columns
NOT_HPARAMS = ("callbacks", "logger", "tuned")
# shown whatever their option; the other groups only when not at their no-op option
ALWAYS = ("model", "loss", "data", "experiment")


def run_hparams(run, keys: list[str]) -> dict:
    """The HParams tab's columns for a run: the option of every config group that shapes it (ALWAYS,
    else unless none/default), the configured keys (seed) and every key the command line overrode
    (what a sweep varies; the tab ticks the columns that differ first). A key the run lacks (image
    size of 2D data) is left out, so the column keeps its type over runs of several families."""
    import yaml
    from omegaconf import OmegaConf

    from ganlab.config import override_key
    hp = {group: option for group, option in run.config_groups.items()
          if group not in NOT_HPARAMS and (group.split("/")[0] in ALWAYS or option not in ("none", "default"))}
    overrides = run.dir / ".hydra" / "overrides.yaml"
    extra = yaml.safe_load(overrides.read_text()) if overrides.is_file() else []
    for key in [*keys, *(override_key(o) for o in extra or [])]:
        if key.startswith("hydra") or key in ("resume", "trainer.device", "logger") or key in run.config_groups:
            continue
        v = OmegaConf.select(run.cfg, key, default=None)
        if v is not None:
            hp[key] = v if isinstance(v, int | float | str | bool) else str(v)
    return hp


def thin(files: list[Path], max_files: int) -> None:
    """Over budget, drop every other file but the first and the newest: the kept grids stay
    spread over the whole run, denser nowhere, and the count stays bounded."""
    max_files = max(max_files, 2)  # the first and the newest always stay
    while len(files) > max_files:
        drop = files[1:-1:2]
        for f in drop:
            f.unlink()
        files = [f for f in files if f not in drop]


def _pyplot():
    """matplotlib.pyplot on the Agg backend, imported when a figure is drawn: image runs skip it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
