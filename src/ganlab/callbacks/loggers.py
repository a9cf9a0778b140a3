"""Several loggers as one `run.logger`: every call goes to each chosen logger (logger=[...]).

A logger is built from its config node before the run directory exists (a missing package or a
bad setting stops the run with nothing created), then opened in the run directory. Interface:
`open(run_dir, purge_step=)`, `scalar(name, value, step)`, `text(name, text, step)`,
`image(name, CHW tensor in [0, 1], step)`, `figure(name, matplotlib figure, step)`,
`hparams(hparams, metric_tags)`, `close()`. `purge_step` (a resume): the steps from there on
are logged again, by a run that is bitwise the stopped one."""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path

import numpy as np

from ganlab.errors import ConfigError


class Loggers:
    def __init__(self, loggers: dict[str, object], *, run_dir: Path, purge_step: int | None):
        self.loggers = loggers
        for lg in loggers.values():
            lg.open(Path(run_dir), purge_step=purge_step)

    def scalar(self, name: str, value: float, step: int) -> None:
        for lg in self.loggers.values():
            lg.scalar(name, value, step)

    def text(self, name: str, text: str, step: int) -> None:
        for lg in self.loggers.values():
            lg.text(name, text, step)

    def image(self, name: str, img, step: int) -> None:
        for lg in self.loggers.values():
            lg.image(name, img, step)

    def figure(self, name: str, fig, step: int) -> None:
        for lg in self.loggers.values():  # the caller closes the figure
            lg.figure(name, fig, step)

    def hparams(self, hparams: dict, metric_tags: list[str]) -> None:
        for lg in self.loggers.values():
            lg.hparams(hparams, metric_tags)

    def close(self) -> None:
        for lg in self.loggers.values():
            lg.close()


def figure_pixels(fig, *, dpi: int = 80) -> np.ndarray:
    """A matplotlib figure as an HWC uint8 array (drawn with Agg here, not by pyplot elsewhere)."""
    from PIL import Image
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def run_status(run_dir: Path) -> str | None:
    """The run's status (ok | failed | interrupted) from summary.json, which is written before
    the loggers close: W&B and MLflow mark their run by it."""
    try:
        return json.loads((run_dir / "summary.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


def require(module: str, *, pip: str):
    """Import an optional logger's package, or say which `pip install` brings it (build_node
    puts the config key in front)."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"this logger needs the {module} package: pip install {pip} "
                          f"(or leave it out of logger=[...])") from e
