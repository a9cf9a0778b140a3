"""Health watch: flags the known failure signs of GAN training as run events (console,
train.log, TensorBoard text, summary.json `events`), each with its step.

Checks run on logged steps; `patience` counts consecutive logged steps (diversity: checks, every
`diversity_every` steps). D's and G's losses and D's accuracy are checked as MEANS since the last
logged step: one batch where G fools D is no spike, and "D right on every sample" must hold over
the window. A flag is raised once when its condition has held long enough and re-armed when it
clears (a spike: when the loss is back near its recent median). A spike must clear an absolute
jump and `spike_ratio` x |median|: +0.5 on a loss sitting at 4 (G's) or 50 (a critic) is noise.
"""

from __future__ import annotations

import math
from collections import deque

import torch

from ganlab.callbacks.base import Callback, RunView
from ganlab.data.loader import Position

WINDOWED = ("train/loss_d", "train/loss_g", "train/d_acc")  # checked as means over the logging interval


class HealthWatch(Callback):
    def __init__(self, *, patience: int = 10,          # consecutive logged steps before a flag
                 d_loss_eps: float = 1e-2,              # D's loss below this: D has "won"
                 d_perfect_patience: int | None = None,  # logged steps of a perfect D (None: patience)
                 d_perfect_warmup: int = 0,             # logged steps before d_perfect is watched
                 grad_low: float = 1e-7, grad_high: float = 1e3,
                 spike_window: int = 20,                # logged steps of history for spikes
                 spike_sigmas: float = 6.0,             # robust z-score that counts as a spike
                 spike_min_jump: float = 0.5,           # ... and an absolute jump at least this big
                 spike_ratio: float = 0.0,              # ... and at least this x |median| (the loss's scale)
                 spike_chance: float = 0.0,             # D's loss: ... and above this x loss.d_chance
                 diversity_every: int = 0,              # steps between diversity checks (0 = off)
                 diversity_drop: float = 0.3,           # flag when diversity < this x real diversity
                 diversity_patience: int = 3,           # consecutive diversity checks before the flag
                 d_overfit_gap: float = 0.2,            # val/d_overfit_gap above this ...
                 d_overfit_patience: int = 2):          # ... for this many evaluations in a row: d_overfit
        self.patience, self.eps = patience, d_loss_eps
        self.perfect_patience = patience if d_perfect_patience is None else d_perfect_patience
        self.perfect_warmup, self.logged = d_perfect_warmup, 0
        self.div_patience = diversity_patience
        self.grad_low, self.grad_high = grad_low, grad_high
        self.window, self.sigmas, self.min_jump = spike_window, spike_sigmas, spike_min_jump
        self.ratio, self.chance_factor = spike_ratio, spike_chance
        self.div_every, self.div_drop = diversity_every, diversity_drop
        self.overfit_gap, self.overfit_patience = d_overfit_gap, d_overfit_patience
        self.counts: dict[str, int] = {}
        self.raised: set[str] = set()
        self.history: dict[str, deque] = {}
        self.real_diversity: float | None = None
        self.sums: dict[str, list] = {}  # WINDOWED stat -> [sum, count] since the last logged step

    # -- the checks ------------------------------------------------------------------------
    def _persist(self, run: RunView, kind: str, condition: bool, message: str, *, patience: int | None = None) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1 if condition else 0
        if self.counts[kind] >= (self.patience if patience is None else patience) and kind not in self.raised:
            self.raised.add(kind)
            run.event(kind, message)
        elif not condition:
            self.raised.discard(kind)

    def _spike(self, run: RunView, name: str, value: float, floor: float | None = None) -> None:
        """floor: a value at or below it is never a spike (D's loss of a D guessing at random)."""
        hist = self.history.setdefault(name, deque(maxlen=self.window))
        if len(hist) >= self.window // 2:
            t = torch.tensor(list(hist))
            med = float(t.median())
            mad = float((t - med).abs().median()) * 1.4826 + 1e-8  # robust std
            kind = f"loss_spike:{name}"
            jump = value - med
            above_floor = floor is None or value > floor
            if jump / mad > self.sigmas and jump > max(self.min_jump, self.ratio * abs(med)) and above_floor:
                if kind not in self.raised:  # once per excursion, not once per step of it
                    self.raised.add(kind)
                    run.event("loss_spike", f"{name}={value:.4g} vs recent median {med:.4g}", metric=name,
                              value=value)
            else:
                self.raised.discard(kind)
        hist.append(value)

    def _accumulate(self, run: RunView) -> None:
        """Adds this step's WINDOWED stats (the Run's newest values of the stats this step made) to
        the window's sums; device tensors stay on the device (no sync until the logged step)."""
        stats = getattr(run, "pending_stats", None)
        if stats is None:  # a caller that hands logged values only
            return
        for key in WINDOWED:
            if key in run.fresh and key in stats:
                v = stats[key]
                acc = self.sums.setdefault(key, [0.0, 0])
                acc[0] = acc[0] + (v.detach().float() if isinstance(v, torch.Tensor) else float(v))
                acc[1] += 1

    def _window_means(self, metrics: dict) -> dict:
        means = dict(metrics)
        for key, (total, count) in self.sums.items():
            if key in means and count:
                means[key] = float(total) / count
        self.sums.clear()
        return means

    def on_step_end(self, run: RunView, metrics):
        self._accumulate(run)
        if not metrics:
            return
        metrics = self._window_means(metrics)
        self.logged += 1
        if "train/loss_d" in metrics and run.algorithm.loss.threshold is not None:
            v = metrics["train/loss_d"]
            self._persist(run, "d_loss_vanishing", v < self.eps,
                          f"D's loss below {self.eps} for {self.patience} logged steps (now {v:.2e})")
        if "train/d_acc" in metrics:
            # G at initialisation is trivially told apart: the first windows do not count
            perfect = metrics["train/d_acc"] >= 1.0 and self.logged > self.perfect_warmup
            self._persist(run, "d_perfect", perfect,
                          f"D classified every real and generated sample correctly for {self.perfect_patience} "
                          f"logged steps", patience=self.perfect_patience)
        for key in [k for k in metrics if k.startswith("train/grad_norm_")]:  # one per phase that ran
            net, g = key.removeprefix("train/grad_norm_"), metrics[key]
            self._persist(run, f"grad_vanishing_{net}", g < self.grad_low,
                          f"{net.upper()}'s gradient norm below {self.grad_low:g} ({g:.2e})")
            self._persist(run, f"grad_exploding_{net}", not math.isfinite(g) or g > self.grad_high,
                          f"{net.upper()}'s gradient norm above {self.grad_high:g} ({g:.2e})")
        # D's loss a little past chance is G catching up (docs/BENCHMARKS.md, the default run, tuned);
        # well above chance D is confidently wrong: a spike (perfect G's switch)
        chance = getattr(getattr(run.algorithm, "loss", None), "d_chance", None)
        chance = None if chance is None or not self.chance_factor else chance * self.chance_factor
        for name, floor in (("train/loss_d", chance), ("train/loss_g", None)):
            if name in metrics:
                self._spike(run, name, metrics[name], floor)
        if self.div_every and run.step % self.div_every == 0:
            with run.isolated_rng():
                self._diversity(run)

    def on_eval_end(self, run: RunView, metrics):
        gap = metrics.get("val/d_overfit_gap")
        if gap is None:
            return
        self._persist(run, "d_overfit", gap > self.overfit_gap,
                      f"D rates its training images {metrics['val/d_real_train']:.3g} and held-out real images "
                      f"{metrics['val/d_real_heldout']:.3g} (gap {gap:.3g} > {self.overfit_gap:g}) for "
                      f"{self.overfit_patience} evaluations: D is overfitting the training set "
                      f"(augment=diffaug or ada, loss.lecam.weight)", patience=self.overfit_patience)

    # -- sample diversity: mean pairwise distance of fixed-noise samples vs real images -------
    @staticmethod
    def _mean_pairwise(x: torch.Tensor) -> float:
        x = x.flatten(1).float()
        return float(torch.pdist(x).mean()) if x.shape[0] > 1 else 0.0

    def _diversity(self, run: RunView) -> None:
        if not hasattr(run.algorithm, "fixed_samples"):
            return
        if self.real_diversity is None:
            real = next(iter(run.batches.epoch(Position(0, 0))))["x"]
            self.real_diversity = self._mean_pairwise(real)
        ratio = self._mean_pairwise(run.algorithm.fixed_samples(run.device).cpu()) / max(self.real_diversity, 1e-8)
        if run.logger is not None:
            run.logger.scalar("train/diversity_ratio", ratio, run.step)  # train/: samples sort first in TensorBoard
        self._persist(run, "diversity_drop", ratio < self.div_drop,
                      f"sample diversity {ratio:.2f} x that of real batches for {self.div_patience} checks "
                      f"(mode collapse?)", patience=self.div_patience)

    def state_dict(self):
        return {"counts": dict(self.counts), "raised": sorted(self.raised),
                "history": {k: list(v) for k, v in self.history.items()},
                "real_diversity": self.real_diversity,
                "sums": {k: [float(t), n] for k, (t, n) in self.sums.items()}, "logged": self.logged}

    def load_state_dict(self, state):
        self.counts, self.raised = dict(state["counts"]), set(state["raised"])
        self.history = {k: deque(v, maxlen=self.window) for k, v in state["history"].items()}
        self.real_diversity = state["real_diversity"]
        self.sums = {k: list(v) for k, v in state.get("sums", {}).items()}  # older checkpoints: none
        self.logged = state.get("logged", 0)
