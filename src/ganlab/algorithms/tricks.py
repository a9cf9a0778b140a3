"""Stabilization tricks and experiment interventions: small pieces that act on what D sees.

Each piece is a callable `(inputs: DInputs, ctx: StepContext, *, algorithm) -> DInputs`, configured
in YAML under `tricks:` (conf/tricks/, conf/experiment/) and applied in order in the D phase.
`algorithm` is the GAN (its `D` rates images for the lying-positive injection).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganlab.algorithms.base import StepContext
from ganlab.algorithms.d_inputs import INJECTED, NOISY_REAL, DInputs
from ganlab.errors import ConfigError

SIDES = ("real", "fake", "both")


def _check_side(apply_to: str) -> str:
    if apply_to not in SIDES:
        raise ConfigError(f"apply_to={apply_to!r}: choose real, fake or both")
    return apply_to


class LabelSmoothing:
    """One-sided label smoothing (Salimans et al. 2016): real targets 1 -> `real` (e.g. 0.9)."""

    def __init__(self, *, real: float = 0.9, fake: float = 0.0):
        self.real, self.fake = real, fake

    def __call__(self, inp: DInputs, ctx: StepContext, *, algorithm=None) -> DInputs:
        rt = torch.full((inp.real.shape[0],), self.real, device=inp.real.device)
        ft = torch.full((inp.fake.shape[0],), self.fake, device=inp.fake.device)
        return inp.replace(real_target=rt, fake_target=ft)


class LabelFlip:
    """Random label flipping: each sample's target becomes the other class with probability p."""

    def __init__(self, *, p: float = 0.05, apply_to: str = "both"):
        self.p, self.apply_to = p, _check_side(apply_to)

    def _flip(self, target: Tensor | None, n: int, default: float, device) -> Tensor:
        t = torch.full((n,), default, device=device) if target is None else target.clone()
        flip = torch.rand(n, device=device) < self.p
        t[flip] = 1.0 - t[flip]
        return t

    def __call__(self, inp: DInputs, ctx: StepContext, *, algorithm=None) -> DInputs:
        kw = {}
        if self.apply_to in ("real", "both"):
            kw["real_target"] = self._flip(inp.real_target, inp.real.shape[0], 1.0, inp.real.device)
        if self.apply_to in ("fake", "both"):
            kw["fake_target"] = self._flip(inp.fake_target, inp.fake.shape[0], 0.0, inp.fake.device)
        return inp.replace(**kw)


class InstanceNoise:
    """Gaussian noise on D's inputs (Sønderby et al. 2017), sigma annealed to 0 over
    `anneal_steps` (0 = constant): linear, or exponential with sigma/100 reached at the end."""

    def __init__(self, *, sigma: float = 0.1, anneal_steps: int = 0, schedule: str = "linear",
                 apply_to: str = "both"):
        if schedule not in ("linear", "exp"):
            raise ConfigError(f"schedule={schedule!r}: choose linear or exp")
        self.sigma, self.anneal, self.schedule = sigma, anneal_steps, schedule
        self.apply_to = _check_side(apply_to)

    def sigma_at(self, step: int) -> float:
        if not self.anneal:
            return self.sigma
        if step >= self.anneal:
            return 0.0
        t = step / self.anneal
        return self.sigma * (1 - t) if self.schedule == "linear" else self.sigma * math.exp(-t * math.log(100))

    def __call__(self, inp: DInputs, ctx: StepContext, *, algorithm=None) -> DInputs:
        s = self.sigma_at(ctx.step)
        if s == 0:
            return inp
        kw = {}
        if self.apply_to in ("real", "both"):
            kw["real"] = inp.real + s * torch.randn_like(inp.real)
        if self.apply_to in ("fake", "both"):
            kw["fake"] = inp.fake + s * torch.randn_like(inp.fake)
        return inp.replace(**kw)


class _Switch:
    """Active from `switch_epoch` (or `switch_step`, which wins when set) on."""

    def __init__(self, switch_epoch: int | None, switch_step: int | None):
        if switch_epoch is None and switch_step is None:
            raise ConfigError("set switch_epoch or switch_step")
        self.switch_epoch, self.switch_step = switch_epoch, switch_step

    def active(self, ctx: StepContext) -> bool:
        if self.switch_step is not None:
            return ctx.step >= self.switch_step
        return ctx.epoch >= self.switch_epoch


class PerfectG(_Switch):
    """The internship's "perfect G": from the switch on, the batch D sees as generated is real
    images + N(0, sigma^2) (G(z) becomes x + noise). The images are the real batch shuffled, so
    D never gets an image and its own noisy copy side by side. noise_on="all" also adds fresh
    noise to every real input (the variant the log asks for), so noise alone gives nothing away.
    G keeps training after the switch: D never sees its samples any more, so its loss only
    probes how D's drift rates G; stop it with schedule.lr_g=0 if needed."""

    def __init__(self, *, switch_epoch: int | None = None, switch_step: int | None = None,
                 sigma: float = 0.1, noise_on: str = "fakes"):
        super().__init__(switch_epoch, switch_step)
        if noise_on not in ("fakes", "all"):
            raise ConfigError(f"noise_on={noise_on!r}: choose fakes or all")
        self.sigma, self.noise_on = sigma, noise_on

    def __call__(self, inp: DInputs, ctx: StepContext, *, algorithm=None) -> DInputs:
        if not self.active(ctx):
            return inp
        b = inp.fake.shape[0]
        perm = torch.randperm(inp.real.shape[0], device=inp.real.device)[:b]
        fake = inp.real[perm] + self.sigma * torch.randn_like(inp.real[perm])
        kw = {"fake": fake, "fake_source": torch.full((b,), NOISY_REAL, device=fake.device)}
        if inp.real_cond is not None:
            kw["fake_cond"] = inp.real_cond[perm]
        if self.noise_on == "all":
            kw["real"] = inp.real + self.sigma * torch.randn_like(inp.real)
        return inp.replace(**kw)


class LyingNegative(_Switch):
    """A fraction q of every generated batch is replaced by real + noise images: D is told some
    real images are fake."""

    def __init__(self, *, fraction: float = 0.25, sigma: float = 0.1, switch_epoch: int | None = 0,
                 switch_step: int | None = None):
        super().__init__(switch_epoch, switch_step)
        self.q, self.sigma = fraction, sigma

    def __call__(self, inp: DInputs, ctx: StepContext, *, algorithm=None) -> DInputs:
        k = int(round(self.q * inp.fake.shape[0]))
        if k == 0 or not self.active(ctx):
            return inp
        perm = torch.randperm(inp.real.shape[0], device=inp.real.device)[:k]
        fake, src = inp.fake.clone(), inp.fake_source.clone()
        fake[:k] = inp.real[perm] + self.sigma * torch.randn_like(inp.real[perm])
        src[:k] = NOISY_REAL
        kw = {"fake": fake, "fake_source": src}
        if inp.fake_cond is not None:
            cond = inp.fake_cond.clone()
            cond[:k] = inp.real_cond[perm]
            kw["fake_cond"] = cond
        return inp.replace(**kw)


class LyingPositive(_Switch):
    """A fraction q of every real batch is replaced by the generated images D rates most real:
    from this batch's fakes (pool_size=0), or from a kept pool of the top-k ever seen, rescored
    by the current D every step."""

    def __init__(self, *, fraction: float = 0.25, pool_size: int = 0, switch_epoch: int | None = 0,
                 switch_step: int | None = None):
        super().__init__(switch_epoch, switch_step)
        self.q, self.pool_size = fraction, pool_size
        self.pool: Tensor | None = None

    @torch.no_grad()
    def __call__(self, inp: DInputs, ctx: StepContext, *, algorithm=None) -> DInputs:
        k = int(round(self.q * inp.real.shape[0]))
        if k == 0 or not self.active(ctx) or inp.fake_cond is not None:
            return inp  # conditional D: a fake's label would be a lie of another kind; not supported
        candidates = inp.fake if self.pool is None else torch.cat([self.pool.to(inp.fake.device), inp.fake])
        out = algorithm.D(candidates)
        if isinstance(out, dict):  # U-Net D: rank by its global (image-level) output
            out = out["global"]
        scores = out.flatten(1).mean(1) if out.dim() > 1 else out
        order = scores.argsort(descending=True)
        if self.pool_size:
            self.pool = candidates[order[: self.pool_size]].detach()
        real, src = inp.real.clone(), inp.real_source.clone()
        real[:k] = candidates[order[:k]]
        src[:k] = INJECTED
        return inp.replace(real=real, real_source=src)

    # the pool is part of the run's state: resume must see the same pool
    def state_dict(self) -> dict:
        return {"pool": self.pool}

    def load_state_dict(self, state: dict) -> None:
        self.pool = state["pool"]
