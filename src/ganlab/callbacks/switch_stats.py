"""Before/after statistics around an intervention's switch (perfect G, lying D): D's mean
outputs per source over the logged steps before and after it, in summary.json `phases`.

A per-source mean (train/d_on_<source>) counts only the logged steps where D saw that source (the
Run's `fresh` stats): after a perfect-G switch the last pre-switch train/d_on_fake would otherwise
keep feeding the "after" mean."""

from __future__ import annotations

from ganlab.callbacks.base import Callback, RunView
from ganlab.errors import ConfigError

KEYS = ("train/d_real", "train/d_fake", "train/d_on_real", "train/d_on_fake", "train/d_on_noisy_real",
        "train/d_on_injected", "train/loss_d", "train/loss_g")


class SwitchStats(Callback):
    def __init__(self, *, switch_epoch: int | None = None, switch_step: int | None = None,
                 keys: tuple[str, ...] = KEYS):
        if switch_epoch is None and switch_step is None:
            raise ConfigError("SwitchStats: set switch_epoch or switch_step")
        self.switch_epoch, self.switch_step, self.keys = switch_epoch, switch_step, list(keys)
        self.sums: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
        self.switched_at: int | None = None

    def _after(self, run: RunView) -> bool:
        # run.step counts finished steps; the step just finished ran at index run.step - 1
        if self.switch_step is not None:
            return run.step - 1 >= self.switch_step
        return run.epoch >= self.switch_epoch

    def on_step_end(self, run: RunView, metrics):
        fresh = run.fresh
        after = self._after(run)
        if after and self.switched_at is None:
            self.switched_at = run.step - 1
            run.event("switch", f"intervention switched on at step {self.switched_at} (epoch {run.epoch})")
        phase = self.sums["after" if after else "before"]
        for k in self.keys:
            if k in metrics and (not k.startswith("train/d_on_") or k in fresh):
                s = phase.setdefault(k, [0.0, 0])
                s[0] += metrics[k]
                s[1] += 1

    def summary(self) -> dict:
        means = {ph: {k: s / n for k, (s, n) in d.items() if n} for ph, d in self.sums.items()}
        return {"phases": {"switch_step": self.switched_at, **means}}

    def state_dict(self):
        return {"sums": self.sums, "switched_at": self.switched_at}

    def load_state_dict(self, state):
        self.sums, self.switched_at = state["sums"], state["switched_at"]
