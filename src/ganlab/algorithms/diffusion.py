"""DDPM (Ho et al. 2020) as a one-phase baseline: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,
a network trained with the "simple" MSE to predict eps (`prediction: eps`) or
v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0 (`prediction: v`, Salimans & Ho 2022: its x_0 stays
well-conditioned at high noise, where eps's divides by sqrt(abar_t) ~ 5e-5 and a small error
becomes a wrong image mean). Samplers: `ancestral` (all T steps, variance beta~_t) and `ddim`
(Song et al. 2021, eta = 0: `sample_steps` of the T, deterministic; `ganlab sample --steps N`).
Schedules (model/noise_schedule): LinearSchedule (beta 1e-4 to 0.02) and CosineSchedule (Nichol &
Dhariwal 2021: abar_t = cos^2((t/T + s)/(1 + s) pi/2)), a few lines each, not diffusers'.

Both samplers run on `sample_steps` evenly spaced timesteps of the T (the ancestral chain
respaced as in Nichol & Dhariwal 2021, sec. 4: betas recomputed from abar on the subsequence).
`learn_sigma` (improved DDPM, Nichol & Dhariwal 2021): the network also outputs v per element, the
reverse variance exp(f log beta_t + (1 - f) log beta~_t) with f = (v + 1) / 2, trained by the
hybrid loss L_simple + vlb_weight * L_vlb, the bound's term at the drawn t (times T: an unbiased
estimate of the sum, nats per dimension) with the mean held fixed (stop-gradient), so that only the
variance learns from it; the ancestral sampler and metrics=nll's bound then use that variance.
Conditional models guide the mean only (the variance is the conditional one)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganlab.algorithms.baseline import Baseline
from ganlab.algorithms.flow import check_steps
from ganlab.algorithms.likelihood import clipped_posterior_var, interpolated_log_var, vlb_term
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
                 sampler: str = "ddim",     # ddim (deterministic) | ancestral (variance beta~_t or learned)
                 sample_steps: int = 50,    # the sampler's timesteps of the T (>= T: all of them)
                 clip_x0: float | None = 1.0,  # the predicted x_0 clipped to +-this (images: [-1, 1]); null = off
                 prediction: str = "eps",   # eps (Ho et al.) | v (Salimans & Ho 2022: sqrt(abar) eps - sqrt(1 - abar) x_0)
                 learn_sigma: bool = False,  # improved DDPM: the network also outputs the reverse variance
                 vlb_weight: float = 0.001,  # learn_sigma: lambda of L_simple + lambda L_vlb (the paper's)
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
        self.learn_sigma = bool(learn_sigma)
        if self.learn_sigma != bool(getattr(self.net, "learn_sigma", False)):
            raise ConfigError(f"learn_sigma={learn_sigma}: the network {type(self.net).__name__} "
                              f"{'does not output' if learn_sigma else 'outputs'} a variance; set "
                              f"model.networks.net.learn_sigma={learn_sigma} (conf/model/denoiser/ sets it "
                              f"from model.algorithm.learn_sigma)")
        if not vlb_weight >= 0:
            raise ConfigError(f"vlb_weight={vlb_weight}: must be >= 0")
        self.vlb_weight = float(vlb_weight)
        self._on: dict = {}  # device -> (betas, abar) there

    @property
    def nfe(self) -> int:
        return min(self.sample_steps, self.T) * self.evals_per_call

    def _consts(self, device) -> tuple[Tensor, Tensor]:
        key = str(device)
        if key not in self._on:
            self._on[key] = (self.betas.to(device), self.abar.to(device))
        return self._on[key]

    def timesteps(self) -> list[int]:
        """The sampler's timesteps, T - 1 down to 0: `sample_steps` of them, evenly spaced."""
        return torch.linspace(self.T - 1, 0, min(self.sample_steps, self.T)).round().long().tolist()

    def guide(self, cond: Tensor, uncond: Tensor) -> Tensor:
        if not self.learn_sigma:
            return super().guide(cond, uncond)
        (c, c_var), (u, _) = cond.chunk(2, dim=1), uncond.chunk(2, dim=1)
        return torch.cat([super().guide(c, u), c_var], dim=1)

    def _x0_eps(self, out: Tensor, x: Tensor, a: Tensor) -> tuple[Tensor, Tensor]:
        """The x_0 and eps that the network's output (eps or v) implies at x_t, abar_t = a."""
        if self.prediction == "v":
            return a.sqrt() * x - (1 - a).sqrt() * out, (1 - a).sqrt() * x + a.sqrt() * out
        return (x - (1 - a).sqrt() * out) / a.sqrt(), out

    def _predict(self, x: Tensor, t: int, abar: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
        """The eps and x_0 that the network's output implies at x_t (x_0 clipped when clip_x0 is
        set; eps then recomputed from the clipped x_0, so both samplers move consistently), and
        with learn_sigma the variance output v (else None)."""
        out = self.guided(self.sampler(), x, torch.full((x.shape[0],), t / self.T, device=x.device), y)
        v = None
        if self.learn_sigma:
            out, v = out.chunk(2, dim=1)
        x0, eps = self._x0_eps(out, x, abar[t])
        if self.clip_x0 is not None:
            x0 = x0.clamp(-self.clip_x0, self.clip_x0)
            eps = (x - abar[t].sqrt() * x0) / (1 - abar[t]).sqrt()
        return eps, x0, v

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        betas, abar = self._consts(x.device)
        t = torch.randint(0, self.T, (x.shape[0],), device=x.device)
        a = abar[t].view(-1, *([1] * (x.dim() - 1)))
        eps = torch.randn_like(x)
        xt = a.sqrt() * x + (1 - a).sqrt() * eps
        out = self.net(xt, t.float() / self.T, *(() if y is None else (y,)))
        target = eps if self.prediction == "eps" else a.sqrt() * eps - (1 - a).sqrt() * x
        if not self.learn_sigma:
            loss = self.objective(out, target)
            return {"loss": loss, f"train/loss_{self.prediction}": loss.detach()}
        out, v = out.chunk(2, dim=1)
        simple = self.objective(out, target)
        x0_hat, _ = self._x0_eps(out.detach(), xt, a)  # stop-gradient: the bound trains the variance only
        vlb = self.T * vlb_term(x, x0_hat, t, v, betas, abar).mean()
        return {"loss": simple + self.vlb_weight * vlb, f"train/loss_{self.prediction}": simple.detach(),
                "train/loss_vlb": vlb.detach()}

    def decode(self, z: Tensor, g: torch.Generator, y: Tensor | None = None) -> Tensor:
        return SAMPLERS[self.sampler_name](self, z, g, y)

    def nll(self, x: Tensor, *, g: torch.Generator, t_samples: int | None = 100, reverse_var: str = "beta",
            **_) -> tuple[Tensor, dict]:
        """The variational bound on -log p(x) per sample (nats, network units); x_0 unclipped. With
        learn_sigma the reverse variance is the network's own (reverse_var does not apply); a
        conditional model's bound is its unconditional one (the null label's)."""
        from ganlab.algorithms.likelihood import ddpm_vlb
        if reverse_var not in ("beta", "posterior"):
            raise ConfigError(f"reverse_var={reverse_var!r}: choose beta or posterior")
        reverse_var = "learned" if self.learn_sigma else reverse_var
        betas, abar = self._consts(x.device)
        post = clipped_posterior_var(betas, abar)

        def predict_x0(xt: Tensor, t: Tensor):  # one t per row
            out = self.guided(self.sampler(), xt, t.float() / self.T)
            r = [-1] + [1] * (xt.dim() - 1)
            if not self.learn_sigma:
                return self._x0_eps(out, xt, abar[t].view(r))[0]
            out, v = out.chunk(2, dim=1)
            return self._x0_eps(out, xt, abar[t].view(r))[0], interpolated_log_var(v, betas[t].view(r), post[t].view(r))

        terms = "all" if t_samples is None or t_samples >= self.T - 1 else f"{t_samples} uniform draws per sample of"
        var = {"beta": ("beta_t", "beta_1"), "posterior": ("beta~_t", "beta_1"),
               "learned": ("learned: the network's interpolation of beta_t and beta~_t", "learned")}[reverse_var]
        return ddpm_vlb(predict_x0, x, betas=self.betas, n_t=t_samples, g=g, reverse_var=reverse_var), {
            "estimator": f"DDPM variational bound (Ho et al. 2020): prior KL + {terms} the {self.T - 1} KL terms "
                         f"(reverse variance {var[0]}) + Gaussian decoder (variance {var[1]}); an upper bound on the NLL"}

    def ancestral(self, x: Tensor, g: torch.Generator, y: Tensor | None = None) -> Tensor:
        """From each timestep t to the next one s (all T, or `sample_steps` of them: respaced, with
        beta = 1 - abar_t / abar_s), x_s ~ N(mean, variance): the mean of q(x_s | x_t, x_0 = the
        prediction), sqrt(abar_s) beta / (1 - abar_t) x_0 + sqrt(1 - beta) (1 - abar_s) / (1 - abar_t) x_t,
        the variance beta~ = beta (1 - abar_s) / (1 - abar_t), or with learn_sigma the network's
        interpolation of log beta and log beta~."""
        _, abar = self._consts(x.device)
        ts = self.timesteps()
        for i, t in enumerate(ts):
            _, x0, v = self._predict(x, t, abar, y)
            if i + 1 == len(ts):
                return x0
            a, a_prev = abar[t], abar[ts[i + 1]]
            beta = 1 - a / a_prev
            post = beta * (1 - a_prev) / (1 - a)
            x = (a_prev.sqrt() * beta * x0 + (1 - beta).sqrt() * (1 - a_prev) * x) / (1 - a)
            std = post.sqrt() if v is None else (0.5 * interpolated_log_var(v, beta, post)).exp()
            x = x + std * torch.randn(x.shape, generator=g).to(x.device)
        return x

    def ddim(self, x: Tensor, g: torch.Generator, y: Tensor | None = None) -> Tensor:
        """eta = 0 on `sample_steps` evenly spaced timesteps: predict x_0, then move to the next one."""
        _, abar = self._consts(x.device)
        ts = self.timesteps()
        for i, t in enumerate(ts):
            eps, x0, _ = self._predict(x, t, abar, y)
            a_next = abar[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), device=x.device)
            x = a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps
        return x


SAMPLERS = {"ancestral": DDPM.ancestral, "ddim": DDPM.ddim}
