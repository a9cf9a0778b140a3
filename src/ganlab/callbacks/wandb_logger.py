"""Weights & Biases: one W&B run per ganlab run, the same metric names as TensorBoard's tags,
sample grids as images (callbacks/loggers.py has the logger interface). A resume continues the
same W&B run (its id is kept in <run dir>/wandb/ganlab_run_id); W&B drops the steps it already
has, which the resumed run re-logs with the same values (exact resume)."""

from __future__ import annotations

import html
import os
import secrets
from pathlib import Path

from ganlab.callbacks.loggers import figure_pixels, require, run_status
from ganlab.errors import UsageError
from ganlab.files import atomic_write_text


class WandbLogger:
    def __init__(self, *, project: str = "ganlab",
                 entity: str | None = None,   # team or user; None: the account's default
                 mode: str | None = None,     # online | offline | disabled; None: $WANDB_MODE / W&B's default
                 group: str | None = None,
                 tags: tuple[str, ...] = ()):
        self.wandb = require("wandb", pip="wandb")  # checked before the run directory exists
        self.settings = dict(project=project, entity=entity, mode=mode, group=group, tags=list(tags))
        self.run = None
        if (mode or os.environ.get("WANDB_MODE") or "online") not in ("offline", "disabled", "dryrun"):
            # else wandb.init fails (no terminal to ask) once the run directory exists: check now,
            # offline (verify=False: the key's sources only, env, netrc, settings; no request)
            if not self.wandb.login(prompt=False, verify=False):
                raise UsageError("no W&B API key (WANDB_API_KEY, ~/.netrc): run wandb login, "
                                 "or set WANDB_MODE=offline (or logger.wandb.mode=offline)")

    def open(self, run_dir: Path, *, purge_step: int | None = None) -> None:
        wandb, self.run_dir = self.wandb, run_dir
        (run_dir / "wandb").mkdir(exist_ok=True)
        id_file = run_dir / "wandb" / "ganlab_run_id"
        run_id = id_file.read_text().strip() if id_file.is_file() else secrets.token_hex(4)
        atomic_write_text(id_file, run_id + "\n")
        self.run = wandb.init(dir=str(run_dir), id=run_id, resume="allow", name=run_dir.name,
                              settings=wandb.Settings(console="off", quiet=True),  # train.log has the console already
                              **{k: v for k, v in self.settings.items() if v is not None})

    def scalar(self, name: str, value: float, step: int) -> None:
        self.run.log({name: value}, step=step)

    def text(self, name: str, text: str, step: int) -> None:
        self.run.log({name: self.wandb.Html(f"<pre>{html.escape(text)}</pre>")}, step=step)

    def image(self, name: str, img, step: int) -> None:
        hwc = img.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        self.run.log({name: self.wandb.Image(hwc)}, step=step)

    def figure(self, name: str, fig, step: int) -> None:
        self.run.log({name: self.wandb.Image(figure_pixels(fig))}, step=step)

    def hparams(self, hparams: dict, metric_tags: list[str]) -> None:
        self.run.config.update(hparams, allow_val_change=True)  # W&B's run table compares runs by these

    def close(self) -> None:
        if self.run is not None:
            self.run.finish(exit_code=1 if run_status(self.run_dir) == "failed" else 0)
            self.run = None
