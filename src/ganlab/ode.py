"""Fixed-step ODE solvers for dx/dt = v(x, t), t from 0 to 1, by name: the flow's sampling and
likelihood, and metrics=nll's check of its `ode_solver` (below both layers, so one list serves).

Hand-written rather than torchdiffeq / flow_matching: three fixed-step rules are a few lines,
the number of network evaluations per sample is then exact (it is reported as sampling cost),
and sampling adds no dependency."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def euler(v: nn.Module, x: Tensor, t: Tensor, h: float) -> Tensor:
    return x + h * v(x, t)


def midpoint(v: nn.Module, x: Tensor, t: Tensor, h: float) -> Tensor:
    return x + h * v(x + 0.5 * h * v(x, t), t + 0.5 * h)


def heun(v: nn.Module, x: Tensor, t: Tensor, h: float) -> Tensor:
    """The trapezoid of the slopes at both ends of the step."""
    k1 = v(x, t)
    return x + 0.5 * h * (k1 + v(x + h * k1, t + h))


SOLVERS = {"euler": (euler, 1), "midpoint": (midpoint, 2), "heun": (heun, 2)}  # rule, evaluations per step


def integrate(v: nn.Module, x: Tensor, *, steps: int, solver: str = "midpoint") -> Tensor:
    """x at t = 1 from x at t = 0, in `steps` equal steps."""
    rule, h = SOLVERS[solver][0], 1.0 / steps
    for i in range(steps):
        x = rule(v, x, torch.full((x.shape[0],), i * h, device=x.device), h)
    return x
