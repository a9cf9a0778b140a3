"""TensorBoard: the logger every part writes through, and the callback that feeds it."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402
from torchvision.utils import save_image  # noqa: E402

from ganlab.callbacks.base import Callback  # noqa: E402

log = logging.getLogger("ganlab")


class TensorBoardLogger:
    def __init__(self, *, log_dir: str, flush_secs: int = 30,
                 purge_step: int | None = None):  # resume: events at steps >= this are dropped
        self.dir = Path(log_dir)
        self.writer = SummaryWriter(log_dir=str(self.dir), flush_secs=flush_secs, purge_step=purge_step)

    def scalar(self, name: str, value: float, step: int) -> None:
        self.writer.add_scalar(name, value, step)

    def text(self, name: str, text: str, step: int) -> None:
        self.writer.add_text(name, text, step)

    def image(self, name: str, img: torch.Tensor, step: int) -> None:
        self.writer.add_image(name, img.clamp(0, 1), step)

    def figure(self, name: str, fig, step: int) -> None:
        self.writer.add_figure(name, fig, step, close=True)

    def hparams(self, hparams: dict, metrics: dict) -> None:
        # run_name="." keeps the hparams next to the scalars of this run instead of a sub-run
        self.writer.add_hparams(hparams, metrics, run_name=".")

    def close(self) -> None:
        self.writer.close()


class TensorBoard(Callback):
    def __init__(self, *, sample_every_n_steps: int = 500,
                 hparams: tuple[str, ...] = (),  # config keys shown in the HParams tab
                 max_sample_files: int = 0):     # 0 = keep all PNGs; else thin older ones
        self.sample_every = sample_every_n_steps
        self.hparam_keys = list(hparams)
        self.max_files = max_sample_files

    def on_step_end(self, run, metrics):
        for k, v in metrics.items():
            run.logger.scalar(k, v, run.step)
        if self.sample_every and (run.step % self.sample_every == 0 or run.step == 1):
            self.log_samples(run)

    def on_eval_end(self, run, metrics):
        for k, v in metrics.items():
            run.logger.scalar(k, v, run.step)

    def on_train_end(self, run, status):
        if status == "failed":
            return
        if self.sample_every:
            self.log_samples(run)
        from omegaconf import OmegaConf

        hp = {}
        for key in self.hparam_keys:
            v = OmegaConf.select(run.cfg, key)
            hp[key] = v if isinstance(v, int | float | str | bool) else str(v)
        final = {f"hparam/{k}": v for k, v in run.last_metrics.items() if k.startswith("val/")}
        if hp and final:
            run.logger.hparams(hp, final)

    def log_samples(self, run) -> None:
        if not hasattr(run.algorithm, "visuals"):  # an algorithm that draws nothing
            return
        out_dir = run.dir / "samples"
        out_dir.mkdir(exist_ok=True)
        with run.isolated_rng():
            visuals = run.algorithm.visuals(run)
        for name, vis in visuals.items():
            fname = out_dir / f"{name.replace('/', '_')}_step{run.step:08d}.png"
            if isinstance(vis, torch.Tensor):
                run.logger.image(f"samples/{name}", vis, run.step)
                save_image(vis, fname)
            else:
                vis.savefig(fname, dpi=80)
                run.logger.figure(f"samples/{name}", vis, run.step)
                plt.close(vis)
            if self.max_files:
                thin(sorted(out_dir.glob(f"{name.replace('/', '_')}_step*.png")), self.max_files)


def thin(files: list[Path], max_files: int) -> None:
    """Over budget, drop every other file but the first and the newest: the kept grids stay
    spread over the whole run, denser nowhere, and the count stays bounded."""
    max_files = max(max_files, 2)  # the first and the newest always stay
    while len(files) > max_files:
        drop = files[1:-1:2]
        for f in drop:
            f.unlink()
        files = [f for f in files if f not in drop]
