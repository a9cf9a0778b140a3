"""Negative log-likelihood estimators of the baselines, in nats per sample, in network units (the
caller, metrics/nll.py, converts units and dequantises). One per family, each on plain callables so
that a test can hand it an analytic model:

- `iwae_nll`: the VAE's importance-weighted bound (Burda et al. 2016) with k posterior samples,
  an upper bound on the NLL that tightens as k grows (k = 1: the negative ELBO).
- `ode_nll`: flow matching's probability-flow ODE integrated from data (t = 1) back to noise
  (t = 0) with the divergence of v beside it (instantaneous change of variables, FFJORD), the
  divergence by Hutchinson's estimator (Gaussian probes, fixed along a trajectory); exact up to the
  solver's error and the probes' variance.
- `ddpm_vlb`: DDPM's variational bound (Ho et al. 2020, eq. 5): KL(q(x_T|x_0) || N(0, I)) + the
  sum over t of KL(q(x_{t-1}|x_t, x_0) || p(x_{t-1}|x_t)) (reverse variance `beta`: beta_t, Ho's
  choice for data of about unit variance, tight on a Gaussian; or `posterior`: beta~_t, the
  ancestral sampler's, a looser bound; or `learned`: the model's own, improved DDPM's) + the
  decoder term -log N(x_0; x0_hat, beta_1) (continuous data: the dequantised images of the
  caller); the sum over t by all timesteps or an unbiased random subset. `vlb_term` is one term of
  it with a learned variance: the training loss of improved DDPM (algorithms/diffusion.py)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ganlab.ode import SOLVERS

LOG_2PI = math.log(2 * math.pi)


def gaussian_logpdf(x: Tensor, mean: Tensor, var: Tensor | float) -> Tensor:
    """log N(x; mean, var I) (var broadcast), summed over all but the first dimension."""
    var = torch.as_tensor(var, dtype=x.dtype, device=x.device)
    return (-0.5 * ((x - mean) ** 2 / var + var.log() + LOG_2PI)).flatten(1).sum(1)


def gaussian_kl(diff: Tensor, var_q: Tensor, var_p: Tensor) -> Tensor:
    """KL(N(m_q, var_q) || N(m_p, var_p)) per element, diff = m_q - m_p."""
    return 0.5 * (torch.log(var_p / var_q) + (var_q + diff ** 2) / var_p - 1)


def clipped_posterior_var(betas: Tensor, abar: Tensor) -> Tensor:
    """beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t) for t = 0..T-1 (0-based), t = 0's (zero: the
    decoder adds no noise) replaced by t = 1's so that its log stays finite (Nichol & Dhariwal's clip)."""
    post = betas[1:] * (1 - abar[:-1]) / (1 - abar[1:])
    return torch.cat([post[:1], post])


def interpolated_log_var(v: Tensor, beta: Tensor, post: Tensor) -> Tensor:
    """Improved DDPM's reverse log-variance: f log beta_t + (1 - f) log beta~_t, f = (v + 1) / 2."""
    f = (v + 1) / 2
    return f * beta.log() + (1 - f) * post.log()


def iwae_nll(encode: Callable, decode: Callable, x: Tensor, *, k: int, dec_var: float,
             g: torch.Generator) -> Tensor:
    """-log (1/k sum_i p(x|z_i) p(z_i) / q(z_i|x)), z_i ~ q(z|x) = N(mu, exp(logvar)); the decoder
    a Gaussian of variance dec_var around decode(z)."""
    mu, logvar = (s.double() for s in encode(x))
    std = (0.5 * logvar).exp()
    eps = torch.randn((k, *mu.shape), generator=g, dtype=torch.float64).to(x.device)
    z = mu + std * eps                                            # (k, B, L)
    flat = z.flatten(0, 1)
    log_q = gaussian_logpdf(eps.flatten(0, 1), 0.0, 1.0) - 0.5 * logvar.flatten(1).sum(1).repeat(k)
    log_pz = gaussian_logpdf(flat, 0.0, 1.0)
    x_hat = decode(flat.to(x.dtype)).double()
    log_px = gaussian_logpdf(x.double().repeat(k, *([1] * (x.dim() - 1))), x_hat, dec_var)
    log_w = (log_px + log_pz - log_q).view(k, -1)
    return -(torch.logsumexp(log_w, 0) - math.log(k))


def ode_nll(v: Callable, x: Tensor, *, steps: int, solver: str, probes: int, g: torch.Generator) -> Tensor:
    """-log p_1(x) = -log N(x_0; 0, I) + int_0^1 div v(x_t, t) dt, x_t from x back along the ODE."""
    shape, d = x.shape, x[0].numel()
    eps = torch.randn((probes, *shape), generator=g).to(x.device, x.dtype)

    def augmented(s: Tensor, t: Tensor) -> Tensor:  # state (B, D + 1): x and the running integral
        with torch.enable_grad():
            xt = s[:, :d].detach().view(shape).requires_grad_(True)
            out = v(xt, t)
            div = torch.zeros(shape[0], device=x.device, dtype=x.dtype)
            for i in range(probes):  # E[eps^T (dv/dx) eps] = tr(dv/dx)
                (vjp,) = torch.autograd.grad(out, xt, eps[i], retain_graph=i + 1 < probes)
                div = div + (vjp * eps[i]).flatten(1).sum(1) / probes
        return torch.cat([out.detach().flatten(1), div.detach()[:, None]], 1)

    rule, h = SOLVERS[solver][0], 1.0 / steps
    s = torch.cat([x.flatten(1), torch.zeros(shape[0], 1, device=x.device, dtype=x.dtype)], 1)
    for i in range(steps):  # t from 1 down to 0: a negative step; the last column gathers -int div
        s = rule(augmented, s, torch.full((shape[0],), 1.0 - i * h, device=x.device), -h)
    z, minus_int_div = s[:, :d], s[:, d]
    return -gaussian_logpdf(z, 0.0, 1.0) - minus_int_div


def ddpm_vlb(predict_x0: Callable, x: Tensor, *, betas: Tensor, n_t: int | None,
             g: torch.Generator, reverse_var: str = "beta") -> Tensor:
    """The bound with 0-based timesteps t = 0..T-1 (x_t = sqrt(abar_t) x + sqrt(1 - abar_t) eps):
    prior KL at T-1, the KL terms at t = 1..T-1 (all, or n_t drawn uniformly per sample and scaled
    by (T-1)/n_t: unbiased), decoder at t = 0. predict_x0(x_t, t) is the model's x_0 at x_t (t: one timestep per row)."""
    betas = betas.double().to(x.device)
    abar, T = torch.cumprod(1 - betas, 0), len(betas)
    x0 = x.double()

    def noised(t: Tensor) -> Tensor:
        a = abar[t].view(-1, *([1] * (x.dim() - 1)))
        return a.sqrt() * x0 + (1 - a).sqrt() * torch.randn(x.shape, generator=g, dtype=torch.float64).to(x.device)

    # prior: KL(N(sqrt(abar) x0, (1 - abar) I) || N(0, I)) per dimension, summed
    a = abar[-1]
    prior = 0.5 * (a * x0 ** 2 + (1 - a) - 1 - torch.log(1 - a)).flatten(1).sum(1)
    n = x.shape[0]
    if n_t is None or n_t >= T - 1:
        draws = [torch.full((n,), t, device=x.device) for t in range(1, T)]
    else:  # each sample its own t's: the subset's error averages over the samples too
        draws = [torch.randint(1, T, (n,), generator=g).to(x.device) for _ in range(n_t)]
    r = [-1] + [1] * (x.dim() - 1)  # a per-row value broadcast over the row's elements

    def predict(t: Tensor, fixed: Tensor) -> tuple[Tensor, Tensor]:  # x0_hat and p's variance at t
        out = predict_x0(noised(t).to(x.dtype), t)
        if reverse_var == "learned":
            return out[0].double(), out[1].double().exp()
        return out.double(), fixed.view(r)

    kl = torch.zeros(n, dtype=torch.float64, device=x.device)
    for t in draws:  # same mean form, x_0 vs its prediction: the means differ by coef (x0 - x0_hat)
        post = betas[t] * (1 - abar[t - 1]) / (1 - abar[t])        # q's variance, beta~_t
        x0_hat, var = predict(t, post if reverse_var == "posterior" else betas[t])  # p's
        coef = abar[t - 1].sqrt() * betas[t] / (1 - abar[t])
        kl = kl + gaussian_kl(coef.view(r) * (x0 - x0_hat), post.view(r), var.expand_as(x0)).flatten(1).sum(1)
    kl = kl * ((T - 1) / len(draws))
    t0 = torch.zeros(n, dtype=torch.long, device=x.device)
    x0_hat, var = predict(t0, betas[t0])
    decoder = -gaussian_logpdf(x0, x0_hat, var)
    return prior + kl + decoder


def vlb_term(x0: Tensor, x0_hat: Tensor, t: Tensor, v: Tensor, betas: Tensor, abar: Tensor) -> Tensor:
    """One term of the bound per sample (0-based t, one per row), mean over the elements, nats, with
    the learned variance of output v: KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) for t >= 1, the
    decoder's -log N(x_0; x0_hat, var) at t = 0 (p's mean there is x0_hat). The means of q and p
    share their x_t term, so only x_0 and its prediction enter."""
    r = [-1] + [1] * (x0.dim() - 1)
    post = clipped_posterior_var(betas, abar)[t].view(r)
    log_var = interpolated_log_var(v, betas[t].view(r), post)
    a_prev = torch.where(t > 0, abar[(t - 1).clamp(min=0)], torch.ones_like(abar[t])).view(r)
    coef = a_prev.sqrt() * betas[t].view(r) / (1 - abar[t].view(r))
    kl = gaussian_kl(coef * (x0 - x0_hat), post, log_var.exp())
    decoder = 0.5 * ((x0 - x0_hat) ** 2 / log_var.exp() + log_var + LOG_2PI)
    return torch.where(t.view(r) == 0, decoder, kl).flatten(1).mean(1)
