"""DDPM (Ho et al. 2020) as a one-phase baseline: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,
a network trained with the "simple" MSE to predict eps (`prediction: eps`) or
v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0 (`prediction: v`, Salimans & Ho 2022: its x_0 stays
well-conditioned at high noise, where eps's divides by sqrt(abar_t) ~ 5e-5 and a small error
becomes a wrong image mean). Samplers: `ancestral` (all T steps, variance beta~_t) and `ddim`
(Song et al. 2021, eta = 0: `sample_steps` of the T, deterministic; `ganlab sample --steps N`).
Schedules (model/noise_schedule): LinearSchedule (beta 1e-4 to 0.02) and CosineSchedule (Nichol &
Dhariwal 2021: abar_t = cos^2((t/T + s)/(1 + s) pi/2)), a few lines each, not diffusers'."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganlab.algorithms.baseline import Baseline
from ganlab.algorithms.flow import check_steps
from ganlab.errors import ConfigError


class LinearSchedule:
    def __init__(self, *, timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02):
        if not 0 < beta_start <= beta_end < 1:
            raise ConfigError(f"beta_start={beta_start}, beta_end={beta_end}: need 0 < start <= end < 1")
        self.timesteps = check_steps(timesteps)
        self.betas = torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)


class CosineSchedule:
    def __init__(self, *, timesteps: int = 1000, s: float = 0.008,
                 max_beta: float = 0.999):   # the paper's clip: no step destroys everything
        self.timesteps = check_steps(timesteps)
        f = torch.cos((torch.arange(timesteps + 1, dtype=torch.float64) / timesteps + s) / (1 + s) * math.pi / 2) ** 2
        abar = f / f[0]
        self.betas = (1 - abar[1:] / abar[:-1]).clamp(max=max_beta)


class DDPM(Baseline):
    def __init__(self, *, objective, noise_schedule,
                 sampler: str = "ddim",     # ddim (sample_steps, deterministic) | ancestral (all T steps)
                 sample_steps: int = 50,    # DDIM steps
                 clip_x0: float | None = 1.0,  # the predicted x_0 clipped to +-this (images: [-1, 1]); null = off
                 prediction: str = "eps",   # eps (Ho et al.) | v (Salimans & Ho 2022: sqrt(abar) eps - sqrt(1 - abar) x_0)
                 **kwargs):
        super().__init__(**kwargs)
        if sampler not in SAMPLERS:
            raise ConfigError(f"sampler={sampler!r}: choose one of {', '.join(SAMPLERS)}")
        self.objective, self.sampler_name = objective, sampler
        if prediction not in ("eps", "v"):
            raise ConfigError(f"prediction={prediction!r}: choose eps or v")
        self.prediction = prediction
        self.sample_steps = check_steps(sample_steps)
        if clip_x0 is not None and clip_x0 <= 0:
            raise ConfigError(f"clip_x0={clip_x0}: must be > 0 or null")
        self.clip_x0 = clip_x0
        self.T = noise_schedule.timesteps
        betas = noise_schedule.betas
        self.betas, self.abar = betas.float(), torch.cumprod(1 - betas, 0).float()
        self._on: dict = {}  # device -> (betas, abar) there

    @property
    def nfe(self) -> int:
        return self.T if self.sampler_name == "ancestral" else min(self.sample_steps, self.T)

    def _consts(self, device) -> tuple[Tensor, Tensor]:
        key = str(device)
        if key not in self._on:
            self._on[key] = (self.betas.to(device), self.abar.to(device))
        return self._on[key]

    def _predict(self, x: Tensor, t: int, abar: Tensor) -> tuple[Tensor, Tensor]:
        """The eps and x_0 that the network's output (eps or v) implies at x_t (x_0 clipped when
        clip_x0 is set; eps then recomputed from the clipped x_0, so both samplers move consistently)."""
        out = self.sampler()(x, torch.full((x.shape[0],), t / self.T, device=x.device))
        if self.prediction == "v":
            x0 = abar[t].sqrt() * x - (1 - abar[t]).sqrt() * out
            eps = (1 - abar[t]).sqrt() * x + abar[t].sqrt() * out
        else:
            eps = out
            x0 = (x - (1 - abar[t]).sqrt() * eps) / abar[t].sqrt()
        if self.clip_x0 is not None:
            x0 = x0.clamp(-self.clip_x0, self.clip_x0)
            eps = (x - abar[t].sqrt() * x0) / (1 - abar[t]).sqrt()
        return eps, x0

    def loss(self, x: Tensor) -> dict[str, Tensor]:
        _, abar = self._consts(x.device)
        t = torch.randint(0, self.T, (x.shape[0],), device=x.device)
        a = abar[t].view(-1, *([1] * (x.dim() - 1)))
        eps = torch.randn_like(x)
        out = self.net(a.sqrt() * x + (1 - a).sqrt() * eps, t.float() / self.T)
        target = eps if self.prediction == "eps" else a.sqrt() * eps - (1 - a).sqrt() * x
        loss = self.objective(out, target)
        return {"loss": loss, f"train/loss_{self.prediction}": loss.detach()}

    def decode(self, z: Tensor, g: torch.Generator) -> Tensor:
        return SAMPLERS[self.sampler_name](self, z, g)

    def nll(self, x: Tensor, *, g: torch.Generator, t_samples: int | None = 100, reverse_var: str = "beta",
            **_) -> tuple[Tensor, dict]:
        """The variational bound on -log p(x) per sample (nats, network units); x_0 unclipped."""
        from ganlab.algorithms.likelihood import ddpm_vlb
        if reverse_var not in ("beta", "posterior"):
            raise ConfigError(f"reverse_var={reverse_var!r}: choose beta or posterior")
        _, abar = self._consts(x.device)

        def predict_x0(xt: Tensor, t: Tensor) -> Tensor:  # one t per row
            out = self.sampler()(xt, t.float() / self.T)
            a = abar[t].view(-1, *([1] * (xt.dim() - 1)))
            return a.sqrt() * xt - (1 - a).sqrt() * out if self.prediction == "v" else \
                (xt - (1 - a).sqrt() * out) / a.sqrt()

        terms = "all" if t_samples is None or t_samples >= self.T - 1 else f"{t_samples} uniform draws per sample of"
        return ddpm_vlb(predict_x0, x, betas=self.betas, n_t=t_samples, g=g, reverse_var=reverse_var), {
            "estimator": f"DDPM variational bound (Ho et al. 2020): prior KL + {terms} the {self.T - 1} KL terms "
                         f"(reverse variance {'beta_t' if reverse_var == 'beta' else 'beta~_t'}) + Gaussian "
                         f"decoder (variance beta_1); an upper bound on the NLL"}

    def ancestral(self, x: Tensor, g: torch.Generator) -> Tensor:
        """x_{t-1} ~ q(x_{t-1} | x_t, x_0 = the prediction): mean
        sqrt(abar_{t-1}) beta_t / (1 - abar_t) x_0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t
        (= (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) unclipped), variance beta~_t."""
        betas, abar = self._consts(x.device)
        for t in range(self.T - 1, -1, -1):
            _, x0 = self._predict(x, t, abar)
            if t == 0:
                return x0
            a_prev = abar[t - 1]
            x = (a_prev.sqrt() * betas[t] * x0 + (1 - betas[t]).sqrt() * (1 - a_prev) * x) / (1 - abar[t])
            x = x + (betas[t] * (1 - a_prev) / (1 - abar[t])).sqrt() * torch.randn(x.shape, generator=g).to(x.device)
        return x

    def ddim(self, x: Tensor, g: torch.Generator) -> Tensor:
        """eta = 0 on `sample_steps` evenly spaced timesteps: predict x_0, then move to the next one."""
        _, abar = self._consts(x.device)
        ts = torch.linspace(self.T - 1, 0, min(self.sample_steps, self.T)).round().long().tolist()
        for i, t in enumerate(ts):
            eps, x0 = self._predict(x, t, abar)
            a_next = abar[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), device=x.device)
            x = a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps
        return x


SAMPLERS = {"ancestral": DDPM.ancestral, "ddim": DDPM.ddim}
