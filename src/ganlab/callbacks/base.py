"""The one small protocol every callback follows.

A callback sees the `Run` (training/run.py): `run.step`, `run.epoch`, `run.dir` (Path),
`run.logger` (the chosen loggers as one, callbacks/loggers.py: `scalar(name, value, step)`, `text(name, str, step)`,
`image(name, CHW tensor in [0,1], step)`, `figure(name, fig, step)`), `run.console` (rich Console),
`run.events` (list of dicts that end up in summary.json under "events"), `run.algorithm` (the GAN
step object), `run.cfg` (the composed config). Metrics are flat dicts of namespaced names
(`train/loss_d`, `val/fid`) to floats.
"""

from __future__ import annotations

from typing import Any


class Callback:
    """Override what you need; every hook is optional."""

    def on_train_start(self, run: Any) -> None: ...

    def on_step_end(self, run: Any, metrics: dict[str, float]) -> None: ...

    def on_eval_end(self, run: Any, metrics: dict[str, float]) -> None: ...

    def on_train_end(self, run: Any, status: str) -> None: ...

    # Callbacks with state (best tracker, watch windows) round-trip it through the checkpoint.
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...
