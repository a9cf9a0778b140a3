"""TranslationGAN's step: generator passes per iteration (the reference CycleGAN's 6), D trained on
the fakes G's phase made, and the loss values of model=cyclegan pinned against hand-computed ones."""

import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from ganlab.algorithms.base import StepContext
from ganlab.commands.bench_translation import ganlab_passes
from ganlab.config import compose

TINY = ["data=toyzebra", "~tuned", "data.image_size=32", "data.batch_size=2", "data.dataset.size=8",
        "model.width=4", "model.discriminator.width=4"]


ORDERS = ["g_first", "d_first"]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(("model", "identity", "passes"), [("cyclegan", 0.5, 6), ("agan", 0.5, 6), ("agan", 0.0, 4)])
def test_generator_passes_per_training_step(model, identity, passes, order):
    # G_AB(a), G_BA(G_AB(a)), G_BA(b), G_AB(G_BA(b)) (+ identity G_AB(b), G_BA(a)); D reuses the fakes
    assert ganlab_passes([f"model={model}", *TINY, f"model.algorithm.lambda_identity={identity}",
                          f"model.algorithm.order={order}"], steps=3) == passes


@pytest.mark.parametrize("order", ORDERS)
def test_a_d_step_without_a_g_step_makes_its_own_fakes(order):
    # g_every=2: step 1 runs D alone (2 passes), step 2 runs G and D (6): 8 over 2 steps
    assert ganlab_passes(["model=cyclegan", *TINY, "schedule.n_critic=2", f"model.algorithm.order={order}"],
                         steps=2) == 4
    # accumulation: every micro-batch's phases share its generator passes (2 micro-batches x 6)
    assert ganlab_passes(["model=cyclegan", *TINY, "trainer.accumulate=2", f"model.algorithm.order={order}"],
                         steps=2) == 12


class Half(nn.Module):
    """G(x) = x / 2, counting its calls."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return {"out": 0.5 * x}


class PixelD(nn.Module):
    """D(x) = x: one 'patch' logit per pixel."""

    def forward(self, x):
        return x


def _cyclegan(**kw):
    cfg = compose(["model=cyclegan", "loss=lsgan_cyclegan", "data=toyzebra"])
    nets = {"G_AB": Half(), "G_BA": Half(), "D_A": PixelD(), "D_B": PixelD()}
    return instantiate(cfg.model.algorithm, **nets, **{"pool_size": 0, **kw}), nets


A = torch.tensor([[[[1.0, -1.0], [0.5, 0.0]]]])
B = torch.tensor([[[[0.0, 0.5], [-0.5, 1.0]]]])


@pytest.mark.parametrize("order", ORDERS)
def test_cyclegan_loss_values_match_the_reference_scaling(order):
    algo, nets = _cyclegan(order=order)
    ctx = StepContext(step=0, epoch=0)
    batch = {"A": A, "B": B}
    d = algo.d_step(batch, ctx) if order == "d_first" else None
    g = algo.g_step(batch, ctx)
    # fake_b = a/2, fake_a = b/2. Adversarial, plain MSE to 1 (D = identity):
    #   mean(.25, 2.25, .5625, 1) + mean(1, .5625, 1.5625, .25) = 1.015625 + 0.84375
    assert g["train/loss_g_adv"].item() == 1.859375
    # cycle: rec = x/4, |rec - x| = .75|x|: .75 * mean|a| + .75 * mean|b| = .46875 + .375
    assert g["train/loss_cycle"].item() == 0.84375
    # identity: |x/2 - x| = .5|x|: .25 + .3125
    assert g["train/loss_identity"].item() == 0.5625
    # G: adv + 10 * cycle + 5 * identity
    assert g["loss"].item() == 1.859375 + 10 * 0.84375 + 5 * 0.5625
    d = d or algo.d_step(batch, ctx)
    # per D: 0.5 * (MSE(real, 1) + MSE(fake, 0)); D_B: .5 * (.875 + .140625), D_A: .5 * (1.3125 + .09375)
    assert d["loss"].item() == 0.5 * (0.875 + 0.140625) + 0.5 * (1.3125 + 0.09375)
    # one phase made G_AB(a), G_BA(b) for both: 3 passes per generator in all
    assert nets["G_AB"].calls == nets["G_BA"].calls == 3


def test_d_first_hands_the_generator_graph_to_g():
    """order=d_first: D's phase runs the frozen generators with their graph; G's phase trains
    through those very outputs, against the D that was just updated."""
    G = nn.Conv2d(1, 1, 1)
    algo = instantiate(compose(["model=cyclegan", "loss=lsgan_cyclegan", "data=toyzebra"]).model.algorithm,
                       G_AB=_Wrap(G), G_BA=_Wrap(G), D_A=PixelD(), D_B=PixelD(), pool_size=0, order="d_first")
    G.requires_grad_(False)  # as the Run leaves it in D's phase
    ctx, batch = StepContext(step=0, epoch=0), {"A": A, "B": B}
    algo.d_step(batch, ctx)
    assert not G.weight.requires_grad and len(algo._handed) == 1
    G.requires_grad_(True)  # G's phase
    algo.g_step(batch, ctx)["loss"].backward()
    assert G.weight.grad is not None and algo._handed == []


class _Wrap(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return {"out": self.net(x)}


def test_lsgan_keeps_mao_et_al_halves():
    """loss=lsgan halves every term: G's adversarial term weighs half of the reference's."""
    cfg = compose(["model=cyclegan", "loss=lsgan", "data=toyzebra"])
    algo = instantiate(cfg.model.algorithm, G_AB=Half(), G_BA=Half(), D_A=PixelD(), D_B=PixelD(), pool_size=0)
    g = algo.g_step({"A": A, "B": B}, StepContext(step=0, epoch=0))
    assert g["train/loss_g_adv"].item() == 1.859375 / 2


def test_d_step_alone_and_stale_fakes():
    algo, nets = _cyclegan()
    algo.g_step({"A": A, "B": B}, StepContext(step=0, epoch=0))
    other = {"A": A.clone(), "B": B.clone()}  # another batch: G's fakes of the first do not apply
    algo.d_step(other, StepContext(step=0, epoch=0))
    assert nets["G_AB"].calls == 4
    algo.d_step({"A": A, "B": B}, StepContext(step=1, epoch=0))  # a later step: fakes of step 0 are dropped
    assert nets["G_AB"].calls == 5 and algo._handed == []


def test_model_cyclegan_defaults_to_the_reference_loss():
    assert compose(["model=cyclegan"]).loss.name == "lsgan_cyclegan"
    assert compose(["model=cyclegan", "loss=hinge"]).loss.name == "hinge"  # the command line still wins
    assert compose(["model=agan"]).loss.name == "bce"


def test_visuals_are_drawn_once_per_step_and_weights():
    """The closing sample grid and final_samples ask at the same step: one drawing; the next G
    update (or step) draws anew."""
    from types import SimpleNamespace
    algo, nets = _cyclegan(n_visuals=2)
    data = [{"A": torch.rand(3, 8, 8) * 2 - 1, "B": torch.rand(3, 8, 8) * 2 - 1} for _ in range(2)]
    run = SimpleNamespace(step=5, device=torch.device("cpu"), dataset=lambda split: data)
    first = algo.visuals(run)
    calls = nets["G_AB"].calls
    again = algo.visuals(run)
    assert nets["G_AB"].calls == calls and set(again) == {"AtoB", "BtoA"}
    assert all(torch.equal(first[k], again[k]) for k in first)
    algo.g_step({"A": A.expand(1, 3, 2, 2), "B": B.expand(1, 3, 2, 2)}, StepContext(step=5, epoch=0))
    calls = nets["G_AB"].calls
    algo.visuals(run)  # same step, G updated since
    assert nets["G_AB"].calls > calls
    calls, run.step = nets["G_AB"].calls, 6
    algo.visuals(run)
    assert nets["G_AB"].calls > calls
