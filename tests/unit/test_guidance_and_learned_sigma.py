"""Class-conditional flow / DDPM with classifier-free guidance, and DDPM's learned variances
(improved DDPM): the networks take labels and the null label, guidance mixes the two predictions
as uncond + w (cond - uncond), training drops labels at cond_drop, and the hybrid loss trains the
variance to the reverse process's true one on data whose answer is known."""

import math

import pytest
import torch

from ganlab.algorithms import likelihood as L
from ganlab.algorithms.base import StepContext
from ganlab.algorithms.diffusion import DDPM, CosineSchedule
from ganlab.algorithms.flow import FlowMatching
from ganlab.errors import ConfigError
from ganlab.losses.regression import MSE
from ganlab.models.denoisers import TimeMLP, UNet
from ganlab.models.dit import DiT

CPU = torch.device("cpu")


@pytest.mark.parametrize("make", [lambda **k: UNet(channels=3, width=8, mults=(1, 2), image_size=8, **k),
                                  lambda **k: DiT(channels=3, image_size=8, patch=2, dim=16, depth=1, heads=2, **k),
                                  lambda **k: TimeMLP(dim=3, hidden=16, depth=1, **k)])
def test_conditional_denoisers_depend_on_the_label_and_none_is_the_null_label(make):
    torch.manual_seed(0)
    net = make(num_classes=4, learn_sigma=True)
    for p in net.parameters():  # zero-initialised outputs would hide the label dependence
        torch.nn.init.normal_(p, std=0.1)
    x = torch.randn(2, 3, 8, 8) if not isinstance(net, TimeMLP) else torch.randn(2, 3)
    t = torch.tensor([0.3, 0.3])
    a, b = net(x, t, torch.tensor([0, 0])), net(x, t, torch.tensor([1, 1]))
    assert a.shape[1] == 6 and a.shape[2:] == x.shape[2:]  # learn_sigma: twice the channels
    assert not torch.allclose(a, b)
    assert torch.equal(net(x, t), net(x, t, torch.tensor([4, 4])))  # index num_classes: the null label
    with pytest.raises(ValueError, match="unconditional"):
        make()(x, t, torch.tensor([0, 0]))


class ByLabel(torch.nn.Module):
    """Output = the label (null: 10) everywhere, counting its calls and the rows it saw."""
    num_classes = 3

    def __init__(self):
        super().__init__()
        self.calls, self.seen = 0, []

    def forward(self, x, t, y=None):
        self.calls += 1
        y = torch.full((x.shape[0],), 3) if y is None else y
        self.seen.append(y.clone())
        return torch.where(y == 3, 10.0, y.float()).view(-1, 1).expand_as(x).clone()


def _flow(net, **kw):
    return FlowMatching(net=net, objective=MSE(), sample_shape=[2], ema_decay=0.0, num_classes=3, solver="euler",
                        sample_steps=2, **kw)


@pytest.mark.parametrize("w", [0.0, 1.0, 3.0, -0.5])
def test_guidance_is_uncond_plus_w_times_cond_minus_uncond_and_counts_its_evaluations(w):
    algo = _flow(ByLabel(), guidance=w)
    y = torch.tensor([0, 1, 2])
    out = algo.guided(algo.net, torch.zeros(3, 2), torch.zeros(3), y)
    assert torch.allclose(out[:, 0], 10 + w * (y.float() - 10))
    assert algo.net.calls == 1 and algo.nfe == 2 * (1 if w in (0, 1) else 2)  # guided: cond and uncond rows
    x = algo.generate(3, device=CPU, y=y)  # euler on a constant velocity: x = z + v
    z = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(x - z, (10 + w * (y.float() - 10)).view(-1, 1).expand(3, 2))


def test_training_drops_labels_to_the_null_label_at_cond_drop():
    net = ByLabel()
    algo = _flow(net, cond_drop=0.25)
    torch.manual_seed(0)
    y = torch.randint(0, 3, (4000,))
    algo.step({"x": torch.zeros(4000, 2), "y": y}, StepContext(step=0, epoch=0))
    seen = net.seen[-1]
    dropped = seen == 3
    assert abs(float(dropped.float().mean()) - 0.25) < 0.03
    assert torch.equal(seen[~dropped], y[~dropped])  # the others keep their label


def test_a_network_that_disagrees_with_the_algorithm_is_named():
    with pytest.raises(ConfigError, match="model.networks.net.num_classes"):
        FlowMatching(net=TimeMLP(dim=2, hidden=8, depth=1), objective=MSE(), sample_shape=[2], num_classes=3)
    with pytest.raises(ConfigError, match="model.networks.net.learn_sigma"):
        DDPM(net=TimeMLP(dim=2, hidden=8, depth=1), objective=MSE(), noise_schedule=CosineSchedule(timesteps=10),
             sample_shape=[2], learn_sigma=True)
    with pytest.raises(ConfigError, match="cond_drop"):
        _flow(ByLabel(), cond_drop=1.0)


# -- learned variances -------------------------------------------------------------------------

T = 20  # few timesteps: beta~_t / beta_t stays well below 1 over many of them, so the two differ


def _learned_fraction(data) -> torch.Tensor:
    """Train a learn_sigma DDPM on `data` (the hybrid loss; lambda 1: Adam's steps barely depend on
    the scale, and the mean's L_simple does not reach the variance anyway) and read its interpolation
    f = (v + 1) / 2 at t = 1..5 over fresh noisy points: 0 is beta~_t, 1 is beta_t."""
    torch.manual_seed(0)
    algo = DDPM(net=TimeMLP(dim=2, hidden=64, depth=2, learn_sigma=True), objective=MSE(), sample_shape=[2],
                noise_schedule=CosineSchedule(timesteps=T), ema_decay=0.0, learn_sigma=True, vlb_weight=1.0,
                prediction="v")
    opt = torch.optim.Adam(algo.net.parameters(), lr=3e-3)
    for _ in range(1000):
        opt.zero_grad()
        algo.loss(data(256))["loss"].backward()
        opt.step()
    fracs = []
    with torch.no_grad():
        for t in range(1, 6):
            a = algo.abar[t]
            xt = a.sqrt() * data(512) + (1 - a).sqrt() * torch.randn(512, 2)
            fracs.append(((algo.net(xt, torch.full((512,), t / T))[:, 2:] + 1) / 2).mean())
    return torch.stack(fracs)


def test_the_hybrid_loss_learns_the_true_reverse_variance_on_known_answers():
    # one point: the reverse step is q(x_{t-1} | x_t, x_0) itself, variance beta~_t (f = 0);
    # N(0, I): every x_t is N(0, I), and Var(x_{t-1} | x_t) = 1 - alpha_t = beta_t (f = 1)
    point = _learned_fraction(lambda n: torch.tensor([0.5, -0.3]).expand(n, 2))
    gauss = _learned_fraction(lambda n: torch.randn(n, 2))
    assert float(point.max()) < 0.25 and float(gauss.min()) > 0.75, (point, gauss)


def test_the_bound_with_a_learned_variance_is_the_fixed_ones_when_it_learns_them():
    x, betas = torch.randn(64, 2, dtype=torch.float64), CosineSchedule(timesteps=T).betas
    abar = torch.cumprod(1 - betas, 0)
    post = L.clipped_posterior_var(betas, abar)
    zero = lambda xt, t: torch.zeros_like(xt)  # noqa: E731  (a denoiser independent of the noise draws)

    def bound(mode, f=None):
        pred = zero if f is None else lambda xt, t: (zero(xt, t), L.interpolated_log_var(  # noqa: E731
            torch.full_like(xt, 2 * f - 1), betas[t].view(-1, 1), post[t].view(-1, 1)))
        return L.ddpm_vlb(pred, x, betas=betas, n_t=None, g=torch.Generator().manual_seed(1), reverse_var=mode)

    assert torch.allclose(bound("learned", 1.0), bound("beta"))  # f = 1: beta_t at every t, beta_1 at the decoder
    # f = 0: beta~_t, the posterior bound's KL terms; its decoder's variance is beta~ of t = 1 (clipped), not beta_1
    nll = lambda var: 0.5 * ((x ** 2).sum(1) / var + 2 * torch.log(2 * math.pi * var))  # noqa: E731
    assert torch.allclose(bound("learned", 0.0) - bound("posterior"), nll(post[0]) - nll(betas[0]))


def test_fewer_respaced_ancestral_steps_keep_the_exact_denoisers_data():
    c = torch.tensor([0.3, -0.5])

    class Exact(torch.nn.Module):
        learn_sigma = True

        def forward(self, x, t):
            a = algo.abar[(t * T).round().long()].view(-1, 1)
            return torch.cat([(x - a.sqrt() * c) / (1 - a).sqrt(), torch.zeros_like(x)], 1)

    algo = DDPM(net=Exact(), objective=MSE(), noise_schedule=CosineSchedule(timesteps=T), sample_shape=[2],
                ema_decay=0.0, learn_sigma=True, prediction="eps", sampler="ancestral", sample_steps=4, clip_x0=None)
    assert algo.nfe == 4 and algo.timesteps() == [19, 13, 6, 0]
    assert torch.allclose(algo.generate(8, device=CPU, seed=0), c.expand(8, 2), atol=1e-4)


def test_the_bound_term_trains_the_variance_only():
    """Stop-gradient on the mean (Nichol & Dhariwal sec. 3.1): the mean's gradient is L_simple's alone."""
    def grads(weight):
        torch.manual_seed(0)
        net = TimeMLP(dim=2, hidden=16, depth=1, learn_sigma=True)
        algo = DDPM(net=net, objective=MSE(), noise_schedule=CosineSchedule(timesteps=T), sample_shape=[2],
                    ema_decay=0.0, learn_sigma=True, vlb_weight=weight)
        out = algo.loss(torch.randn(32, 2))
        out["loss"].backward()
        w = net.net[-1].weight.grad  # rows 0-1: the mean's outputs, 2-3: the variance's
        return w[:2].clone(), w[2:].clone(), out
    mean0, var0, _ = grads(0.0)
    mean1, var1, out = grads(1000.0)
    assert torch.equal(mean0, mean1) and not torch.allclose(var0, var1)
    assert float(var0.abs().max()) == 0 and "train/loss_vlb" in out and float(out["train/loss_vlb"]) > 0


def test_metrics_nll_of_a_learned_variance_model_uses_its_variance():
    """The same mean with v = +1 everywhere (the variance beta_t) gives the fixed beta_t bound of a
    fixed-variance model; v = -1 (beta~_t) gives a different one, and the estimator says which."""
    class Mean(torch.nn.Module):
        def __init__(self, v=None):
            super().__init__()
            self.v, self.learn_sigma = v, v is not None

        def forward(self, x, t):
            out = 0.8 * x + 0.1 * t.view(-1, 1)
            return out if self.v is None else torch.cat([out, torch.full_like(out, self.v)], 1)

    def nll(v, **kw):
        algo = DDPM(net=Mean(v), objective=MSE(), noise_schedule=CosineSchedule(timesteps=T), sample_shape=[2],
                    ema_decay=0.0, learn_sigma=v is not None)
        return algo.nll(torch.randn(32, 2, generator=torch.Generator().manual_seed(0)),
                        g=torch.Generator().manual_seed(1), t_samples=None, **kw)

    fixed, info = nll(None, reverse_var="beta")
    as_beta, learned_info = nll(1.0)
    assert torch.allclose(fixed, as_beta, rtol=1e-5) and "beta_t)" in info["estimator"]
    assert "learned" in learned_info["estimator"] and not torch.allclose(nll(-1.0)[0], as_beta, rtol=1e-3)
