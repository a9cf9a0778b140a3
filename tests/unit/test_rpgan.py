"""RpGAN, the relativistic pairing loss (losses/adversarial.py), and R3GAN's objective (RpGAN + R1
+ R2): the formulas on hand-made logits, the pairing, G's phase running D on the reals, and
loss=r3gan composing R1 and R2 through D's regulariser list."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlab.algorithms.base import StepContext
from ganlab.algorithms.gan import GAN
from ganlab.losses.adversarial import BCE, RpGAN
from ganlab.models.mlp import Generator

CTX = StepContext(step=0, epoch=0)
REAL = torch.tensor([1.0, 2.0, -1.0, 0.5])
FAKE = torch.tensor([0.5, 3.0, 0.0, -2.0])


def _softplus(v: float) -> float:
    return math.log1p(math.exp(v))


# -- the formulas --------------------------------------------------------------------------------
def test_d_and_g_losses_are_the_mean_softplus_of_the_pairs_margins():
    d = sum(_softplus(f - r) for r, f in zip(REAL.tolist(), FAKE.tolist())) / 4
    g = sum(_softplus(r - f) for r, f in zip(REAL.tolist(), FAKE.tolist())) / 4
    torch.testing.assert_close(RpGAN().d_loss(REAL, FAKE), torch.tensor(d))
    torch.testing.assert_close(RpGAN().g_loss(FAKE, REAL), torch.tensor(g))


def test_the_losses_pair_samples_not_batch_means():
    # the same fakes in another order: the same means, other pairs, other losses
    shuffled = FAKE[[3, 2, 1, 0]]
    assert not torch.isclose(RpGAN().d_loss(REAL, FAKE), RpGAN().d_loss(REAL, shuffled))
    assert not torch.isclose(RpGAN().g_loss(FAKE, REAL), RpGAN().g_loss(shuffled, REAL))
    mean_vs_mean = F.softplus(FAKE.mean() - REAL.mean())
    assert not torch.isclose(RpGAN().d_loss(REAL, FAKE), mean_vs_mean)


def test_gradients_push_reals_up_fakes_down_for_d_and_fakes_up_for_g():
    real, fake = REAL.clone().requires_grad_(True), FAKE.clone().requires_grad_(True)
    g_real, g_fake = torch.autograd.grad(RpGAN().d_loss(real, fake), (real, fake))
    assert (g_real < 0).all() and (g_fake > 0).all()
    (g_gen,) = torch.autograd.grad(RpGAN().g_loss(fake, real.detach()), fake)
    assert (g_gen < 0).all()


def test_patch_outputs_pair_per_sample_means():
    real_map, fake_map = torch.randn(4, 1, 3, 5), torch.randn(4, 1, 3, 5)
    r, f = real_map.mean((1, 2, 3)), fake_map.mean((1, 2, 3))
    torch.testing.assert_close(RpGAN().d_loss(real_map, fake_map), F.softplus(f - r).mean())
    torch.testing.assert_close(RpGAN().g_loss(fake_map, real_map), F.softplus(r - f).mean())


def test_targets_are_ignored_and_chance_is_equal_outputs():
    loss = RpGAN()
    smoothed = loss.d_loss(REAL, FAKE, real_target=torch.full((4,), 0.9), fake_target=torch.full((4,), 0.1))
    torch.testing.assert_close(smoothed, loss.d_loss(REAL, FAKE))
    torch.testing.assert_close(loss.d_loss(REAL + 7, REAL + 7), torch.tensor(loss.d_chance))
    torch.testing.assert_close(loss.d_loss(REAL + 7, FAKE + 7), loss.d_loss(REAL, FAKE))  # no line: threshold None
    assert loss.threshold is None and loss.g_needs_real and not BCE().g_needs_real


def test_g_needs_the_reals_and_pairs_need_equal_batches():
    with pytest.raises(ValueError, match="needs D's outputs on real images"):
        RpGAN().g_loss(FAKE)
    with pytest.raises(ValueError, match="pairs real and generated"):
        RpGAN().d_loss(REAL, FAKE[:3])


def test_r3gan_asks_for_r1_and_r2_with_its_gammas():
    assert RpGAN().penalties() == {}
    assert RpGAN(r1_gamma=0.1, r2_gamma=0.1).penalties() == {"r1": {"gamma": 0.1, "every": 1},
                                                             "r2": {"gamma": 0.1, "every": 1}}
    assert list(RpGAN(r2_gamma=0.3, r2_every=4).penalties()) == ["r2"]


# -- in a GAN ------------------------------------------------------------------------------------
class LinearD(nn.Module):
    """D(x) = <w, x> per sample: grad_x D = w everywhere."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([3.0, -4.0]))

    def forward(self, x):
        return (x * self.w).sum(1)


def _gan(loss):
    torch.manual_seed(0)
    return GAN(G=Generator(z_dim=2, hidden=8, depth=1), D=LinearD(), loss=loss, z_dim=2)


def test_g_step_pairs_fakes_with_d_on_the_real_batch_without_its_graph():
    gan, x = _gan(RpGAN()), torch.randn(8, 2)
    torch.manual_seed(1)
    out = gan.g_step({"x": x}, CTX)
    torch.manual_seed(1)
    fake = gan.G(torch.randn(8, 2))
    torch.testing.assert_close(out["loss"], F.softplus(gan.D(x) - gan.D(fake)).mean())
    assert not gan._d_on_real({"x": x})[0].requires_grad  # constants to G
    gan.G.zero_grad()
    out["loss"].backward()
    assert all(p.grad is not None for p in gan.G.parameters())


def test_r3gan_d_step_adds_and_logs_r1_and_r2():
    gan = _gan(RpGAN(r1_gamma=2.0, r2_gamma=2.0))
    assert [p.name for p in gan.phases()] == ["D", "G"]
    out = gan.d_step({"x": torch.randn(8, 2)}, CTX)
    torch.testing.assert_close(out["train/penalty"], torch.tensor(25.0))  # R1: 2/2 * ||(3, -4)||^2
    torch.testing.assert_close(out["train/r2"], torch.tensor(25.0))
    torch.testing.assert_close(out["loss"], out["train/loss_d"] + 50.0)
    assert "train/d_acc" not in out  # no decision line


# -- from the configs ----------------------------------------------------------------------------
def test_loss_r3gan_is_rpgan_with_one_gamma_for_r1_and_r2():
    from hydra.utils import instantiate

    from ganlab.config import compose
    cfg = compose(["loss=r3gan", "loss.gamma=0.3"])
    loss = instantiate(cfg.loss.adversarial)
    assert isinstance(loss, RpGAN)
    assert loss.penalties() == {"r1": {"gamma": 0.3, "every": 1}, "r2": {"gamma": 0.3, "every": 1}}
    assert instantiate(compose(["loss=rpgan"]).loss.adversarial).penalties() == {}


FAST = ["trainer.max_steps=2", "trainer.log_every=1", "trainer.eval_every=0", "data.batch_size=4",
        "trainer.device=cpu", "~logger", "~callbacks", "metrics=none", "model.width=8",
        "model.discriminator.width=8", "data.image_size=32", "data.dataset.size=8", "~data.evaluators.fid_proxy"]


@pytest.mark.parametrize("disc, loss", [("unet", "r3gan"), ("patchgan", "rpgan")])
def test_rpgan_with_multi_output_and_patch_discriminators(tmp_path, disc, loss):
    from ganlab.config import compose
    from ganlab.training.loop import train
    from ganlab.training.prepare import prepare_run
    s = train(prepare_run(compose(FAST + ["model=dcgan", f"model/discriminator={disc}", f"loss={loss}"]), tmp_path))
    assert s["status"] == "ok" and s["step"] == 2
    assert {"train/loss_d", "train/loss_g"} <= set(s["metrics"])
    assert ("train/r2" in s["metrics"]) == (loss == "r3gan")
