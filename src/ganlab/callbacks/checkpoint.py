"""last.pt every N steps and at the end; best.pt (and optionally the top-k) by a monitored metric.

This callback decides; the Run writes, once, at the end of the step, after every other callback
and the evaluation (Run.request_checkpoint), so every file holds the state after the whole step.
Each time last.pt is replaced, the one before is kept as previous.pt."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

from ganlab.callbacks.base import Callback, RunView
from ganlab.errors import ConfigError

log = logging.getLogger("ganlab")


class Checkpoint(Callback):
    def __init__(self, *, every_n_steps: int = 1000,
                 monitor: str | None = None,   # any logged metric, e.g. val/modes or train/loss_g
                 mode: str = "max",            # max | min
                 save_top_k: int = 1,          # best.pt plus the k-1 next best, named by step
                 keep_every_n_steps: int = 0):  # also keep step-XXXXXX.pt snapshots (long runs)
        if mode not in ("max", "min"):
            raise ConfigError(f"callbacks.checkpoint.mode={mode!r}: choose max or min")
        self.every, self.monitor, self.mode = every_n_steps, monitor, mode
        self.top_k, self.keep_every = save_top_k, keep_every_n_steps
        self.ranked: list[tuple[float, int]] = []  # (value, step) of kept checkpoints, best first
        self.last_at: int | None = None  # the step last.pt was last asked for (no second write of it)

    def _dir(self, run: RunView) -> Path:
        return run.dir / "checkpoints"

    def on_step_end(self, run: RunView, metrics):
        if self.every and run.step % self.every == 0:
            run.request_checkpoint("last.pt")
            self.last_at = run.step
        if self.keep_every and run.step % self.keep_every == 0:
            run.request_checkpoint(f"step-{run.step:08d}.pt")
        if self.monitor and self.monitor.startswith("train/") and self.monitor in metrics:
            self._consider(run, metrics[self.monitor])

    def on_eval_end(self, run: RunView, metrics):
        if self.monitor and self.monitor in metrics:
            self._consider(run, metrics[self.monitor])

    def on_train_end(self, run: RunView, status):
        if status != "failed" and self.last_at != run.step:  # after a NaN the last good last.pt stays
            run.request_checkpoint("last.pt")
        if self.monitor and not self.ranked and status == "ok":
            log.warning("callbacks.checkpoint.monitor=%s was never logged: no best.pt written "
                        "(available: %s)", self.monitor, ", ".join(sorted(run.metrics)))

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.mode == "max" else a < b

    def _consider(self, run: RunView, value: float) -> None:
        if not math.isfinite(value):
            return
        if self.ranked and not self._better(value, self.ranked[-1][0]) and len(self.ranked) >= self.top_k:
            return
        is_best = not self.ranked or self._better(value, self.ranked[0][0])
        self.ranked.append((value, run.step))
        self.ranked.sort(key=lambda t: -t[0] if self.mode == "max" else t[0])
        dropped = self.ranked[self.top_k:]
        self.ranked = self.ranked[: self.top_k]
        d = self._dir(run)
        if is_best:
            run.request_checkpoint("best.pt")
            log.info("new best %s=%.5g at step %d", self.monitor, value, run.step)
        if self.top_k > 1:
            if (value, run.step) in self.ranked:
                run.request_checkpoint(self._topk_name(value, run.step))
            for v, s in dropped:
                p = d / self._topk_name(v, s)
                if p.exists():
                    os.unlink(p)

    def _topk_name(self, value: float, step: int) -> str:
        return f"top-step{step:08d}-{self.monitor.replace('/', '_')}={value:.5g}.pt"

    def best_summary(self) -> dict | None:
        if not self.monitor or not self.ranked:
            return None
        v, s = self.ranked[0]
        return {"monitor": self.monitor, "mode": self.mode, "value": v, "step": s}

    def state_dict(self):
        return {"ranked": [list(t) for t in self.ranked]}

    def load_state_dict(self, state):
        self.ranked = [tuple(t) for t in state["ranked"]]
