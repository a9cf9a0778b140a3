"""D's regularisers (algorithms/regularisers.py): their values on critics with known gradients,
how a GAN runs them (in D's phase or lazily), what it checkpoints, and R2 end to end."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import checkpoint_tensors, summary
from ganlab.algorithms.base import StepContext
from ganlab.algorithms.d_inputs import DInputs
from ganlab.algorithms.gan import GAN
from ganlab.algorithms.regularisers import R1, R2, GradientPenalty
from ganlab.losses.adversarial import BCE, LSGAN, WGAN, WGANGP, Hinge
from ganlab.losses.lecam import LeCam
from ganlab.models.mlp import Generator

CTX = StepContext(step=0, epoch=0)


class LinearD(nn.Module):
    """D(x) = <w, x> per sample: grad_x D = w everywhere."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


def _quadratic(x):  # D(x) = ||x||^2 / 2: grad_x D = x
    return 0.5 * (x ** 2).flatten(1).sum(1)


# -- values ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 3), (5, 2, 4, 4)])
def test_r2_on_a_linear_d_is_half_gamma_times_the_squared_weight_norm(shape):
    torch.manual_seed(0)
    D = LinearD(torch.randn(shape[1:]))
    r2 = R2(gamma=3.0)(D, DInputs(real=torch.randn(shape), fake=torch.randn(shape)), None, None)
    w = D.w.detach()
    torch.testing.assert_close(r2, 3.0 / 2 * w.pow(2).sum())
    r2.backward()  # trains D: d/dw (gamma/2 ||w||^2) = gamma w
    torch.testing.assert_close(D.w.grad, 3.0 * w)


def test_r2_looks_at_the_fakes_and_r1_at_the_reals():
    real, fake = torch.full((4, 3), 1.0), torch.full((4, 3), 2.0)
    inp = DInputs(real=real, fake=fake)
    # ||grad||^2 = ||x||^2: 3 for the reals, 12 for the fakes
    torch.testing.assert_close(R1(gamma=2.0)(_quadratic, inp, None, None), torch.tensor(3.0))
    torch.testing.assert_close(R2(gamma=2.0)(_quadratic, inp, None, None), torch.tensor(12.0))


def test_r2_passes_the_fakes_condition_and_trains_d_only():
    seen = {}
    w = torch.ones(3, requires_grad=True)

    def D(x, y):
        seen["y"] = y
        return (x * w).sum(1) * (1 + y)

    fake = torch.randn(4, 3, requires_grad=True)
    y_real, y_fake = torch.tensor([0, 0, 0, 0]), torch.tensor([0, 1, 0, 1])
    R2()(D, DInputs(real=torch.randn(4, 3), fake=fake, real_cond=y_real, fake_cond=y_fake), None, None).backward()
    assert seen["y"] is y_fake
    assert w.grad is not None and fake.grad is None


@pytest.mark.parametrize("every", [0, -1, 1.5])
def test_an_interval_below_one_is_a_config_error(every):
    from ganlab.errors import ConfigError
    with pytest.raises(ConfigError, match=r"r2.every=.*>= 1"):
        R2(every=every)


# -- the WGAN-GP gradient penalty (was WGANGP.penalty) -----------------------------------------------
def _gp(weight, D, real, fake, cond=None):
    return GradientPenalty(weight=weight)(D, DInputs(real=real, fake=fake, real_cond=cond), None, None)


@pytest.mark.parametrize("shape", [(5, 3), (5, 2, 4, 4)])
def test_linear_critic_penalty_is_exact(shape):
    # lambda (||w|| - 1)^2 whatever the interpolation; its gradient wrt w is 2 lambda (||w|| - 1) w / ||w||
    torch.manual_seed(0)
    D = LinearD(torch.randn(shape[1:]))
    penalty = _gp(7.0, D, torch.randn(shape), torch.randn(shape))
    w = D.w.detach()
    norm = w.norm()
    torch.testing.assert_close(penalty, 7.0 * (norm - 1) ** 2)
    penalty.backward()
    torch.testing.assert_close(D.w.grad, 2 * 7.0 * (norm - 1) * w / norm)


def test_quadratic_critic_gradient_is_the_interpolate():
    # grad = x_hat. Real = fake pins x_hat; collinear real/fake bound its norm.
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    torch.testing.assert_close(_gp(1.0, _quadratic, x, x), ((x.norm(dim=1) - 1) ** 2).mean())
    u = F.normalize(torch.randn(64, 4), dim=1)
    pen = _gp(1.0, _quadratic, 2 * u, 3 * u)   # ||x_hat|| in [2, 3] -> (||x_hat|| - 1)^2 in [1, 4]
    assert 1.5 < pen.item() < 3.5              # interpolates fall inside, not all at one end


def test_penalty_passes_the_condition_and_detaches_inputs():
    seen = {}
    w = torch.ones(3, requires_grad=True)

    def D(x, y):
        seen["y"] = y
        return (x * w).sum(1) * (1 + y)

    real, fake = torch.randn(4, 3), torch.randn(4, 3, requires_grad=True)
    y = torch.tensor([0, 1, 0, 1])
    _gp(1.0, D, real, fake, y).backward()
    assert seen["y"] is y
    assert w.grad is not None and fake.grad is None


def test_penalty_through_a_real_critic():
    from ganlab.models.dcgan import Discriminator

    torch.manual_seed(0)
    D = Discriminator(image_size=16, width=4, norm="layer")
    penalty = _gp(10.0, D, torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16))
    assert penalty.dim() == 0 and torch.isfinite(penalty)
    penalty.backward()
    assert D.features[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("loss, names", [(BCE(), []), (BCE(r1_gamma=1.0), ["r1"]), (LSGAN(), []), (Hinge(), []),
                                         (WGAN(), []), (WGANGP(), ["gp"])])
def test_only_bce_r1_and_wgan_gp_ask_for_a_penalty(loss, names):
    assert list(loss.penalties()) == names


# -- in a GAN ----------------------------------------------------------------------------------------
def _gan(**kw):
    torch.manual_seed(0)
    return GAN(G=Generator(z_dim=2, hidden=8, depth=1), D=LinearD(torch.tensor([3.0, -4.0])), z_dim=2, **kw)


def test_r2_in_d_phase_is_logged_and_added():
    gan = _gan(loss=Hinge(), regularisers={"r2": R2(gamma=2.0)})
    assert [p.name for p in gan.phases()] == ["D", "G"]
    out = gan.d_step({"x": torch.randn(8, 2)}, CTX)
    torch.testing.assert_close(out["train/r2"], torch.tensor(25.0))  # 2/2 * ||(3, -4)||^2
    torch.testing.assert_close(out["loss"], out["train/loss_d"] + 25.0)


def test_lazy_regularisers_get_a_phase_per_interval_scaled_by_it():
    gan = _gan(loss=BCE(r1_gamma=1.0, r1_every=4), regularisers={"r2": R2(gamma=2.0, every=3)})
    phases = {p.name: p for p in gan.phases()}
    assert list(phases) == ["D", "D_reg3", "D_reg4", "G"]
    assert phases["D_reg3"].every == 3 and phases["D_reg3"].optimizer_name == "D"
    out = gan.d_step({"x": torch.randn(8, 2)}, CTX)
    assert "train/r2" not in out and "train/penalty" not in out  # neither runs in D's phase
    out = phases["D_reg3"].fn({"x": torch.randn(8, 2)}, CTX)
    assert set(out) == {"loss", "train/r2"}
    torch.testing.assert_close(out["loss"], torch.tensor(3 * 25.0))
    out = phases["D_reg4"].fn({"x": torch.randn(8, 2)}, CTX)
    torch.testing.assert_close(out["train/penalty"], torch.tensor(4 * 0.5 * 25.0))
    # one lazy interval keeps the phase's name of before (its lr schedule and grad norm's metric)
    assert [p.name for p in _gan(loss=BCE(r1_gamma=1.0, r1_every=16)).phases()] == ["D", "D_reg", "G"]


def test_a_regulariser_defined_elsewhere_plugs_in_with_its_state():
    class Counter:  # the interface, nothing else: counts its calls, in the checkpoint
        name, metric, every = "counter", "counter", 1

        def __init__(self):
            self.calls = 0

        def __call__(self, D, inp, d_real, d_fake):
            self.calls += 1
            return (d_real - d_fake).mean() * 0

        def state_dict(self):
            return {"calls": self.calls}

        def load_state_dict(self, state):
            self.calls = state["calls"]

    gan = _gan(loss=BCE(), regularisers=[Counter()])
    out = gan.d_step({"x": torch.randn(8, 2)}, CTX)
    assert "train/counter" in out
    state = gan.state_dict()
    assert state["counter"] == {"calls": 1} and state["lecam"] == {}
    other = _gan(loss=BCE(), regularisers=[Counter()])
    other.load_state_dict(state)
    assert other.regularisers[0].calls == 1


def test_the_d_loss_adds_lecam_then_the_penalty_as_before():
    # the numbers of the D step written out: adversarial loss + LeCam + R1, the same draws
    gan = _gan(loss=BCE(r1_gamma=2.0), lecam=LeCam(weight=0.5, start_steps=10))
    x = torch.randn(8, 2)
    torch.manual_seed(1)
    out = gan.d_step({"x": x}, CTX)
    torch.manual_seed(1)
    fake = gan.G(torch.randn(8, 2)).detach()
    r, f = gan.D(x), gan.D(fake)
    lecam = 0.5 * (F.relu(r - f.mean()).pow(2).mean() + F.relu(r.mean() - f).pow(2).mean())
    expected = BCE().d_loss(r, f) + lecam + 2.0 / 2 * 25.0
    torch.testing.assert_close(out["loss"], expected)
    torch.testing.assert_close(out["train/lecam"], lecam)
    torch.testing.assert_close(out["train/penalty"], torch.tensor(25.0))
    assert set(gan.state_dict()) == {"tricks", "augment", "lecam"}  # the checkpoint's keys of before
    assert math.isclose(gan.state_dict()["lecam"]["updates"], 1)


# -- end to end ----------------------------------------------------------------------------------------
TINY = ["debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=32", "trainer.device=cpu",
        "trainer.max_steps=4", "~data.evaluators.fid_proxy"]


def test_train_with_r2_on_logs_it_next_to_r1_and_resumes_bitwise(ganlab, tmp_path):
    r2 = [*TINY, "loss=bce_r1", "+regulariser=r2", "model.algorithm.regularisers.r2.every=2"]
    ganlab("train", *r2, "hydra.run.dir=straight")
    s = summary(tmp_path / "straight")
    assert s["status"] == "ok" and s["step"] == 4
    assert {"train/r2", "train/penalty", "train/grad_norm_d_reg"} <= set(s["metrics"])
    assert s["metrics"]["train/r2"] > 0
    ganlab("train", *r2, "trainer.stop_at_step=3", "hydra.run.dir=resumed", check=False)
    ganlab("train", f"resume={tmp_path / 'resumed'}")
    a = checkpoint_tensors(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = checkpoint_tensors(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_bad_r2_interval_is_one_line_and_creates_nothing(ganlab, tmp_path):
    p = ganlab("train", *TINY, "+regulariser=r2", "model.algorithm.regularisers.r2.every=0", check=False)
    assert p.returncode == 2
    assert "r2.every=0" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "outputs").exists()


# -- the same weights as before the regularisers ---------------------------------------------------------
# Fingerprints (sum of w + |w| over each network's state) after a few steps from seed 5, one thread
# (conftest), written by ganlab at 138748d, whose D step added LeCam, CutMix and the loss's penalty
# by hand; this code gives them bitwise. A change in a term, its order or its random draws moves
# them far more than float reordering (other thread counts, machines: about 1e-9 relative) does:
# runs that differ in one term (mlp-bce_r1, mlp-lecam) are 3e-5 apart.
FAST = ["trainer.max_steps=4", "trainer.log_every=1", "trainer.eval_every=0", "data.batch_size=8",
        "trainer.device=cpu", "~logger", "~callbacks", "metrics=none", "seed=5"]
MLP = ["model=mlp", "data=ring8", "model.hidden=16", "data.dataset.size=256", "~data.evaluators.modes"]
IMG = ["model.width=8", "model.discriminator.width=8", "data.image_size=16", "data.dataset.size=32",
       "~data.evaluators.fid_proxy"]
LECAM = ["loss.lecam.weight=0.5", "loss.lecam.start_steps=1"]
BEFORE = {
    "mlp-bce_r1": (MLP + ["loss=bce_r1"], {"G": 91.406860655174, "D": 72.62848873841}),
    "mlp-lazy_r1": (MLP + ["loss=bce_r1", "loss.adversarial.r1_every=2"], {"G": 91.400756990071, "D": 72.635861092858}),
    "mlp-wgan_gp": (MLP + ["loss=wgan_gp"], {"G": 91.476295597851, "D": 72.632906793297}),
    "mlp-lecam": (MLP + LECAM, {"G": 91.406723741442, "D": 72.63058528601}),
    # tuned=dcgan_shapes: the composition these sums were recorded with (tuned/cgan_shapes has since its own lr schedule)
    "cgan-wgan_gp": (["model=cgan", "loss=wgan_gp", "tuned=dcgan_shapes", *IMG],
                     {"G": 575.990583078958, "D": 99.00149172041, "G_ema": 591.915242812153}),
    "unet-cutmix": (["model=dcgan", "model/discriminator=unet", "model.algorithm.cutmix_prob=0.5", "loss=bce_r1",
                     *LECAM, *IMG], {"G": 516.526812579668, "D": 1503.117659627547, "G_ema": 518.473235973841}),
    "agan-unet": (["model=agan", "model/discriminator=unet", "data=toyzebra", "model.width=4",
                   "model.discriminator.width=8", "data.image_size=16", "data.dataset.size=8",
                   "data.test_dataset.size=4", "data.batch_size=2", "model.algorithm.cutmix_prob=0.5", "loss=bce_r1",
                   *LECAM, "~data.evaluators.masks", "trainer.max_steps=2"],
                  {"G_AB": 3043.148418412483, "G_BA": 3056.860377400237, "D_A": 1507.529235247581,
                   "D_B": 1518.959248924919}),
}


@pytest.mark.parametrize("name", list(BEFORE))
def test_same_seed_same_weights_as_before_the_regularisers(tmp_path, name):
    from ganlab.config import compose
    from ganlab.training.loop import train
    from ganlab.training.prepare import prepare_run
    overrides, expected = BEFORE[name]
    run = prepare_run(compose(FAST + overrides), tmp_path)
    assert train(run)["status"] == "ok"
    got = {k: float(sum(t.double().sum() + t.double().abs().sum() for t in m.state_dict().values()
                        if t.is_floating_point())) for k, m in run.algorithm.modules().items()}
    assert got == pytest.approx(expected, rel=1e-7, abs=0)
