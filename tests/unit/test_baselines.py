"""The non-GAN baselines' pieces: networks keep the shape of their input, the ODE solvers and
noise schedules are right on cases with known answers, each objective learns what it should."""

import math

import pytest
import torch

from ganlab.algorithms.diffusion import DDPM, CosineSchedule, LinearSchedule
from ganlab.algorithms.flow import FlowMatching
from ganlab.algorithms.vae import VAE
from ganlab.errors import ConfigError
from ganlab.losses.regression import ELBO, MSE
from ganlab.models.denoisers import TimeMLP, UNet
from ganlab.models.dit import DiT
from ganlab.models.vae import MLPVAE, ConvVAE
from ganlab.ode import SOLVERS, integrate


@pytest.mark.parametrize("net", [UNet(channels=3, width=8, mults=(1, 2), image_size=16),
                                 DiT(channels=3, image_size=16, patch=4, dim=16, depth=2, heads=2)])
def test_image_denoisers_map_images_to_images_and_depend_on_t(net):
    x = torch.randn(2, 3, 16, 16)
    for p in net.parameters():  # zero-initialised outputs would hide the t dependence
        torch.nn.init.normal_(p, std=0.1)
    a, b = net(x, torch.tensor([0.1, 0.1])), net(x, torch.tensor([0.9, 0.9]))
    assert a.shape == x.shape and not torch.allclose(a, b)


def test_dit_unpatchify_inverts_the_patch_layout():
    net = DiT(channels=1, image_size=8, patch=2, dim=8, depth=1, heads=2)
    # weights that copy a patch's 4 pixels into its token and back: the output is each patch's
    # pixels through the final LayerNorm, put back where unfold/fold (the reference) say
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.embed.weight.view(8, 4)[:4] = torch.eye(4)
        net.head.weight[:, :4] = torch.eye(4)
    x = torch.randn(1, 1, 8, 8)
    patches = torch.nn.functional.unfold(x, 2, stride=2).transpose(1, 2)           # (1, 16, 4)
    tokens = torch.nn.functional.layer_norm(torch.cat([patches, torch.zeros_like(patches)], 2), (8,), eps=1e-6)
    expected = torch.nn.functional.fold(tokens[..., :4].transpose(1, 2), (8, 8), 2, stride=2)
    assert torch.allclose(net(x, torch.zeros(1)), expected, atol=1e-5)


def test_dit_and_unet_refuse_sizes_they_cannot_tile():
    with pytest.raises(ConfigError, match="patch"):
        DiT(image_size=30, patch=4)
    with pytest.raises(ConfigError, match="patch"):
        DiT(image_size=28)  # patch=None: 28 // 8 = 3 does not tile 28 px
    assert [DiT(image_size=s, dim=8, depth=1, heads=2).patch for s in (16, 32, 64)] == [2, 4, 8]  # 8 x 8 tokens
    with pytest.raises(ConfigError, match="mults"):
        UNet(image_size=18, mults=(1, 2, 2))


class Const(torch.nn.Module):
    """v(x, t) = 2 t: x(1) = x(0) + 1 exactly for rules exact on linear t."""

    def forward(self, x, t):
        return 2 * t.view(-1, 1).expand_as(x)


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_ode_solvers_integrate_and_count_evaluations(solver):
    calls = []

    class Counting(Const):
        def forward(self, x, t):
            calls.append(1)
            return super().forward(x, t)

    x = integrate(Counting(), torch.zeros(3, 2), steps=4, solver=solver)
    expected = 1.0 if solver != "euler" else 2 * sum(i / 4 for i in range(4)) / 4  # Euler: left sums
    assert torch.allclose(x, torch.full((3, 2), expected))
    assert len(calls) == 4 * SOLVERS[solver][1]


def test_noise_schedules_follow_their_papers():
    lin = LinearSchedule(timesteps=1000)
    assert math.isclose(float(lin.betas[0]), 1e-4) and math.isclose(float(lin.betas[-1]), 0.02)
    cos = CosineSchedule(timesteps=1000)
    abar = torch.cumprod(1 - cos.betas, 0)
    t = 500
    f = lambda s: math.cos((s / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert math.isclose(float(abar[t - 1]), f(t) / f(0), rel_tol=1e-6)
    assert float(cos.betas.max()) <= 0.999 and float(abar[-1]) < 1e-3


def _ddpm(net, **kw):
    return DDPM(net=net, objective=MSE(), noise_schedule=CosineSchedule(timesteps=50), sample_shape=[2],
                ema_decay=0.0, **kw)


class Oracle(torch.nn.Module):
    """The exact prediction for data concentrated on one point c: eps = (x_t - sqrt(abar) c) / sqrt(1 - abar),
    v = sqrt(abar) eps - sqrt(1 - abar) c."""

    def __init__(self, abar, c, T, prediction="eps"):
        super().__init__()
        self.abar, self.c, self.T, self.prediction = abar, c, T, prediction

    def forward(self, x, t):
        a = self.abar[(t * self.T).round().long()].view(-1, 1)
        eps = (x - a.sqrt() * self.c) / (1 - a).sqrt()
        return eps if self.prediction == "eps" else a.sqrt() * eps - (1 - a).sqrt() * self.c


@pytest.mark.parametrize("prediction", ["eps", "v"])
@pytest.mark.parametrize("sampler", ["ancestral", "ddim"])
def test_ddpm_samplers_reach_the_data_with_the_exact_denoiser(sampler, prediction):
    algo = _ddpm(torch.nn.Identity(), sampler=sampler, sample_steps=10, clip_x0=None, prediction=prediction)
    c = torch.tensor([0.3, -0.5])
    algo.net = Oracle(algo.abar, c, algo.T, prediction)
    x = algo.generate(16, device=torch.device("cpu"), seed=0)
    assert torch.allclose(x, c.expand(16, 2), atol=1e-4)
    assert algo.nfe == 10  # both samplers on sample_steps of the T (the ancestral chain respaced)
    algo.sample_steps = 1000
    assert algo.nfe == 50 and torch.allclose(algo.generate(4, device=torch.device("cpu"), seed=0), c.expand(4, 2), atol=1e-4)
    torch.manual_seed(0)  # the training target is what the exact network predicts: zero loss
    loss = algo.loss(c.expand(64, 2).clone())
    assert float(loss["loss"]) < 1e-8 and f"train/loss_{prediction}" in loss
    wrong = Oracle(algo.abar, c, algo.T, "v" if prediction == "eps" else "eps")
    algo.net = wrong  # the other parametrisation's exact network is not exact for this one
    assert float(algo.loss(c.expand(64, 2).clone())["loss"]) > 1e-3


def test_ddim_is_deterministic_in_its_noise_and_ancestral_is_seeded():
    torch.manual_seed(0)
    algo = _ddpm(TimeMLP(dim=2, hidden=16, depth=1), sampler="ddim", sample_steps=5)
    cpu = torch.device("cpu")
    assert torch.equal(algo.generate(8, device=cpu, seed=3), algo.generate(8, device=cpu, seed=3))
    algo.sampler_name = "ancestral"
    a, b = algo.generate(8, device=cpu, seed=3), algo.generate(8, device=cpu, seed=4)
    assert torch.equal(a, algo.generate(8, device=cpu, seed=3)) and not torch.equal(a, b)


def _fit(algo, data, steps=300, lr=1e-2):
    opt = torch.optim.Adam(algo.net.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        algo.loss(data()).pop("loss").backward()
        opt.step()


def test_flow_matching_learns_a_shifted_gaussian():
    torch.manual_seed(0)
    algo = FlowMatching(net=TimeMLP(dim=2, hidden=64, depth=2), objective=MSE(), sample_shape=[2],
                        ema_decay=0.0, sample_steps=20)
    mean = torch.tensor([2.0, -1.0])
    _fit(algo, lambda: mean + 0.1 * torch.randn(256, 2))
    x = algo.generate(2000, device=torch.device("cpu"), seed=0)
    assert (x.mean(0) - mean).abs().max() < 0.15 and x.std(0).max() < 0.35
    assert algo.nfe == 40


def test_vae_reconstructs_and_its_kl_pulls_the_posterior_to_the_prior():
    torch.manual_seed(0)
    data = lambda: torch.randn(128, 2) * torch.tensor([1.0, 0.1])  # noqa: E731
    losses = {}
    for kl in (0.0, 1.0):
        algo = VAE(net=MLPVAE(dim=2, hidden=32, depth=2, latent_dim=2), objective=ELBO(kl_weight=kl),
                   sample_shape=[2], ema_decay=0.0)
        _fit(algo, data, steps=300)
        losses[kl] = {k: float(v.detach()) for k, v in algo.loss(data()).items()}
    assert losses[0.0]["train/loss_rec"] < losses[1.0]["train/loss_rec"]
    assert losses[1.0]["train/loss_kl"] < losses[0.0]["train/loss_kl"]
    assert ConvVAE(channels=1, image_size=16, width=4, latent_dim=3).decode(torch.zeros(2, 3)).shape == (2, 1, 16, 16)


def test_bad_baseline_options_name_themselves():
    with pytest.raises(ConfigError, match="solver"):
        FlowMatching(net=TimeMLP(), objective=MSE(), sample_shape=[2], solver="rk45")
    with pytest.raises(ConfigError, match="sampler"):
        _ddpm(TimeMLP(), sampler="dpm")
    with pytest.raises(ConfigError, match="prediction"):
        _ddpm(TimeMLP(), prediction="x0")
    with pytest.raises(ConfigError, match="sample_steps"):
        FlowMatching(net=TimeMLP(), objective=MSE(), sample_shape=[2], sample_steps=0)
    with pytest.raises(ConfigError, match="kl_weight"):
        ELBO(kl_weight=-1)


def test_slerp_keeps_the_endpoints_and_the_norm_between_orthogonal_points():
    from ganlab.algorithms.interpolation import noise_strips, slerp
    a, b = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 3.0]])
    path = slerp(a, b, torch.linspace(0, 1, 5))[0]
    assert torch.allclose(path[0], a[0]) and torch.allclose(path[-1], b[0], atol=1e-6)
    assert torch.allclose(path.norm(dim=1), torch.full((5,), 3.0))  # a straight line would dip to 2.12
    same = slerp(a, a.clone(), torch.linspace(0, 1, 3))[0]          # parallel: no division by sin 0
    assert torch.isfinite(same).all() and torch.allclose(same, a.expand(3, 2))
    z = noise_strips((4, 2, 2), rows=3, frames=6, seed=1)
    assert z.shape == (18, 4, 2, 2) and torch.equal(z, noise_strips((4, 2, 2), rows=3, frames=6, seed=1))


def test_a_gan_decodes_given_noise_so_its_strips_are_paths_too():
    from ganlab.algorithms.gan import GAN
    from ganlab.losses.adversarial import BCE
    from ganlab.models.mlp import Discriminator, Generator
    torch.manual_seed(0)
    gan = GAN(G=Generator(z_dim=3, hidden=8, depth=1), D=Discriminator(hidden=8, depth=1), loss=BCE(), z_dim=3)
    z = torch.randn(5, 3)
    cpu = torch.device("cpu")
    assert gan.latent_shape == (3,)
    assert torch.allclose(gan.generate(5, device=cpu, z=z), gan.G(z))
    # without z: the seeded draw of before (the same numbers a run's evaluations always used)
    g = torch.Generator().manual_seed(7)
    assert torch.allclose(gan.generate(4, device=cpu, seed=7), gan.G(torch.randn(4, 3, generator=g)))


def test_the_baselines_ema_warms_up_from_its_own_update_count():
    from ganlab.algorithms.ema import EMA
    m = torch.nn.Linear(1, 1, bias=False)
    ema = EMA(m, decay=0.999, warmup=True)
    for value in (1.0, 2.0, 2.0):
        with torch.no_grad():
            m.weight.fill_(value)
        ema.update(m)
    w1 = 1 + (2 - 1) * (1 - 2 / 11)          # second update: decay (1 + 1) / (10 + 1)
    w2 = w1 + (2 - w1) * (1 - 3 / 12)         # third: (1 + 2) / (10 + 2)
    assert math.isclose(float(ema.module.module.weight), w2, rel_tol=1e-6)
    assert int(ema.module.n_averaged) == 3    # a buffer: checkpointed with the EMA network
