"""Conditional flow matching (Lipman et al. 2023, arXiv 2210.02747) on the straight-line path
(rectified flow; Lipman's optimal-transport path with sigma_min = 0):
x_t = (1 - t) z + t x with z ~ N(0, I), x a data sample, and the network regresses the
velocity u_t = x - z at a uniform t. Sampling integrates dx/dt = v(x, t) from t = 0 (noise) to
t = 1 (data) with a fixed-step ODE solver (ganlab/ode.py); its steps are a sampling option
(`model.algorithm.sample_steps`, `ganlab sample --steps`). Conditional (model.num_classes > 0):
v(x, t, y) with classifier-free guidance on the velocity (algorithms/baseline.py)."""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor

from ganlab.algorithms.baseline import Baseline
from ganlab.errors import ConfigError
from ganlab.ode import SOLVERS, integrate


class FlowMatching(Baseline):
    def __init__(self, *, objective, solver: str = "midpoint",  # euler | midpoint | heun
                 sample_steps: int = 50,    # ODE steps from noise to data
                 t_power: float = 1.0,      # training t = 1 - u^p, u uniform: p > 1 trains more near the data end
                 **kwargs):
        super().__init__(**kwargs)
        if solver not in SOLVERS:
            raise ConfigError(f"solver={solver!r}: choose one of {', '.join(SOLVERS)}")
        self.objective, self.solver = objective, solver
        self.sample_steps = check_steps(sample_steps)
        if not t_power > 0:
            raise ConfigError(f"t_power={t_power}: must be > 0")
        self.t_power = float(t_power)

    @property
    def nfe(self) -> int:
        return SOLVERS[self.solver][1] * self.sample_steps * self.evals_per_call

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        z = torch.randn_like(x)
        t = 1 - torch.rand(x.shape[0], device=x.device) ** self.t_power
        tt = t.view(-1, *([1] * (x.dim() - 1)))
        xt = (1 - tt) * z + tt * x
        loss = self.objective(self.net(xt, t, *(() if y is None else (y,))), x - z)
        return {"loss": loss, "train/loss_fm": loss.detach()}

    def velocity(self, y: Tensor | None = None):
        """v(x, t) of the sampling network: the (guided) velocity towards class y."""
        return partial(self.guided, self.sampler(), y=y)

    def decode(self, z: Tensor, g: torch.Generator, y: Tensor | None = None) -> Tensor:
        return integrate(self.velocity(y), z, steps=self.sample_steps, solver=self.solver)

    def nll(self, x: Tensor, *, g: torch.Generator, ode_steps: int = 20, ode_solver: str = "midpoint",
            probes: int = 1, **_) -> tuple[Tensor, dict]:
        """-log p(x) per sample (nats, network units) of the probability-flow ODE (a conditional
        model: of its unconditional velocity, the null label's)."""
        from ganlab.algorithms.likelihood import ode_nll
        if ode_solver not in SOLVERS:
            raise ConfigError(f"ode_solver={ode_solver!r}: choose one of {', '.join(SOLVERS)}")
        return ode_nll(self.velocity(), x, steps=check_steps(ode_steps), solver=ode_solver, probes=probes, g=g), {
            "estimator": f"probability-flow ODE likelihood (instantaneous change of variables), {ode_solver} "
                         f"solver, {ode_steps} steps from t=1 to 0, Hutchinson trace with {probes} Gaussian probe(s)"}


def check_steps(steps: int) -> int:
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"sample_steps={steps!r}: must be an integer >= 1")
    return steps
