"""The three NLL estimators (algorithms/likelihood.py) against a Gaussian dataset whose NLL is
analytic: x ~ N(mu, Sigma) in 2D, each family's model set to its exact optimum in closed form."""

import math

import torch

from ganlab.algorithms import likelihood as L

MU = torch.tensor([0.5, -1.0], dtype=torch.float64)
R = torch.tensor([[0.8, -0.6], [0.6, 0.8]], dtype=torch.float64)  # a rotation: Sigma not diagonal
SIGMA = R @ torch.diag(torch.tensor([2.0, 0.3], dtype=torch.float64)) @ R.T


def true_nll(x):
    return -torch.distributions.MultivariateNormal(MU, SIGMA).log_prob(x)


def data(n=2000, seed=0):
    return torch.distributions.MultivariateNormal(MU, SIGMA).sample((n,)) if seed is None else \
        MU + torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) @ \
        torch.linalg.cholesky(SIGMA).T


# -- VAE: a linear-Gaussian model x = W z + mu + N(0, s2 I), which is exactly N(mu, W W^T + s2 I) --
S2 = 0.1
W = R @ torch.diag((torch.tensor([2.0, 0.3], dtype=torch.float64) - S2).sqrt())  # W W^T + s2 I = Sigma
M_INV = torch.linalg.inv(W.T @ W + S2 * torch.eye(2, dtype=torch.float64))  # diagonal: W's columns orthogonal


def encode(x, wrong=0.0):
    mu = (x - MU) @ W @ M_INV.T  # the exact posterior N(M^-1 W^T (x - mu), s2 M^-1)
    logvar = torch.log(S2 * torch.diag(M_INV)).expand_as(mu) + wrong
    return mu + wrong, logvar


def decode(z):
    return z @ W.T + MU


def test_iwae_is_exact_with_the_true_posterior_and_a_bound_that_tightens_with_k():
    x, g = data(500), torch.Generator().manual_seed(0)
    exact = L.iwae_nll(encode, decode, x, k=1, dec_var=S2, g=g)
    assert torch.allclose(exact, true_nll(x), atol=1e-9)  # every importance weight is p(x)
    wrong = lambda x: encode(x, wrong=0.5)  # noqa: E731  a biased, too-wide q
    k1 = L.iwae_nll(wrong, decode, x, k=1, dec_var=S2, g=g).mean()
    k64 = L.iwae_nll(wrong, decode, x, k=64, dec_var=S2, g=g).mean()
    truth = true_nll(x).mean()
    assert k1 > k64 + 0.05 and k64 >= truth - 0.01 and k64 - truth < 0.1, (k1, k64, truth)


# -- flow: x_t = (1 - t) z + t x; its marginal N(t mu, S_t), S_t = (1 - t)^2 I + t^2 Sigma, and the
# optimal velocity E[x - z | x_t] = mu + (t Sigma - (1 - t) I) S_t^-1 (x_t - t mu) --
def velocity(x, t):
    t = t[0].item()
    eye = torch.eye(2, dtype=torch.float64)
    st = (1 - t) ** 2 * eye + t ** 2 * SIGMA
    a = (t * SIGMA - (1 - t) * eye) @ torch.linalg.inv(st)
    return MU + (x - t * MU) @ a.T


def test_ode_likelihood_of_the_exact_velocity_matches_the_analytic_nll():
    x, g = data(400), torch.Generator().manual_seed(1)
    est = L.ode_nll(velocity, x, steps=50, solver="midpoint", probes=8, g=g)
    err = est - true_nll(x)
    se = err.std() / len(x) ** 0.5  # Hutchinson's noise, per sample; it averages out over the samples
    assert se < 0.03 and err.mean().abs() < 4 * se + 0.005, (err.mean(), se)  # + the solver's error
    assert err.abs().max() < 1.5


# -- DDPM: x_t ~ N(sqrt(a) mu, a Sigma + (1 - a) I) and E[x_0 | x_t] in closed form --
BETAS = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
ABAR = torch.cumprod(1 - BETAS, 0)


def x0_hat(xt, t):
    a = ABAR[t].view(-1, 1, 1)
    cov = a * SIGMA + (1 - a) * torch.eye(2, dtype=torch.float64)
    gain = a.sqrt() * SIGMA @ torch.linalg.inv(cov)                  # (B, 2, 2), one per row's t
    return MU + (gain @ (xt - a[:, 0].sqrt() * MU)[:, :, None])[:, :, 0]


def test_ddpm_variational_bound_of_the_exact_denoiser_is_above_and_close_to_the_nll():
    x, g = data(2000), torch.Generator().manual_seed(2)
    truth = true_nll(x).mean()
    per_x = L.ddpm_vlb(x0_hat, x, betas=BETAS, n_t=None, g=g, reverse_var="beta")
    full, se = per_x.mean(), per_x.std() / len(x) ** 0.5  # one noise draw per t and x: Monte Carlo error
    assert se < 0.05 and truth - 4 * se <= full <= truth + 4 * se + 0.02, (full, truth, se)  # beta_t: tight
    posterior = L.ddpm_vlb(x0_hat, x, betas=BETAS, n_t=None, g=g, reverse_var="posterior").mean()
    assert posterior > full + 0.3, (posterior, full)  # beta~_t ignores Var(x_0 | x_t): a looser bound
    sub = L.ddpm_vlb(x0_hat, x, betas=BETAS, n_t=100, g=g, reverse_var="beta").mean()  # unbiased subset
    assert abs(sub - full) < 8 * se, (sub, full)


def test_gaussian_logpdf_is_the_normal_density():
    x = torch.randn(5, 3, dtype=torch.float64)
    ref = torch.distributions.Normal(0.0, 2.0).log_prob(x).sum(1)
    assert torch.allclose(L.gaussian_logpdf(x, 0.0, 4.0), ref)
    assert math.isclose(float(L.gaussian_logpdf(torch.zeros(1, 1), 0.0, 1.0)), -0.5 * math.log(2 * math.pi), rel_tol=1e-6)


def test_the_nll_evaluator_names_a_bad_option_before_any_run():
    import pytest

    from ganlab.errors import ConfigError
    from ganlab.metrics.nll import NLLEvaluator
    for bad, key in (({"ode_solver": "rk4"}, "ode_solver='rk4'"), ({"k": 0}, "k=0"),
                     ({"reverse_var": "learned"}, "reverse_var='learned'")):
        with pytest.raises(ConfigError, match=key.replace("[", r"\[")):
            NLLEvaluator(**bad)
    assert NLLEvaluator(t_samples=None).options["t_samples"] is None  # null = all T
