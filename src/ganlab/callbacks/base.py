"""The one small protocol every callback follows, and what a callback sees of the run.

A callback is called with a RunView: the training Run (training/run.py) satisfies it
structurally. Metrics are flat dicts of namespaced names (`train/loss_d`, `val/fid`) to floats.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from ganlab.metrics.context import EvalContext


class RunView(EvalContext, Protocol):
    """EvalContext (algorithm, device, step, cfg, dataset(split), event(...)) and what callbacks
    need beyond it; tests/test_architecture.py checks that callbacks use nothing else of a run."""
    epoch: int
    total_steps: int
    dir: Path              # the run directory
    logger: Any            # the chosen loggers as one (callbacks/loggers.py): scalar, text, image, figure
    console: Any           # rich Console
    batches: Any           # the training data (data/loader.py Batches)
    metrics: dict[str, float]        # the newest logged / evaluated value of each metric
    fresh: set[str]                  # the stats the step that just ran produced
    config_groups: dict[str, str]    # the option of each config group

    def request_checkpoint(self, name: str) -> None:
        """checkpoints/<name> written at the end of this step (after everything)."""

    def isolated_rng(self) -> AbstractContextManager:
        """Random numbers drawn inside never shift training's stream."""


class Callback:
    """Override what you need; every hook is optional."""

    def on_train_start(self, run: RunView) -> None: ...

    def on_step_end(self, run: RunView, metrics: dict[str, float]) -> None: ...

    def on_eval_end(self, run: RunView, metrics: dict[str, float]) -> None: ...

    def on_train_end(self, run: RunView, status: str) -> None: ...

    # Callbacks with state (best tracker, watch windows) round-trip it through the checkpoint.
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...
