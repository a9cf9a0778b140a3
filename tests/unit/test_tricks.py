import pytest
import torch

from ganlab.algorithms.base import StepContext
from ganlab.algorithms.d_inputs import FAKE, INJECTED, NOISY_REAL, REAL, DInputs
from ganlab.algorithms.tricks import (
    InstanceNoise,
    LabelFlip,
    LabelSmoothing,
    LyingNegative,
    LyingPositive,
    PerfectG,
)


def _inp(b=8):
    real = torch.ones(b, 3, 4, 4)
    fake = -torch.ones(b, 3, 4, 4)
    return DInputs(real=real, fake=fake)


CTX0 = StepContext(step=0, epoch=0)


def test_provenance_defaults():
    inp = _inp()
    assert (inp.real_source == REAL).all() and (inp.fake_source == FAKE).all()


def test_label_smoothing_is_one_sided():
    out = LabelSmoothing(real=0.9)(_inp(), CTX0)
    assert torch.allclose(out.real_target, torch.full((8,), 0.9))
    assert torch.equal(out.fake_target, torch.zeros(8))


def test_label_flip_flips_about_p_of_labels():
    torch.manual_seed(0)
    inp = DInputs(real=torch.zeros(10000, 1), fake=torch.zeros(10000, 1))
    out = LabelFlip(p=0.1, apply_to="both")(inp, CTX0)
    assert abs((out.real_target == 0).float().mean().item() - 0.1) < 0.02
    assert abs((out.fake_target == 1).float().mean().item() - 0.1) < 0.02
    only_real = LabelFlip(p=0.5, apply_to="real")(inp, CTX0)
    assert only_real.fake_target is None
    with pytest.raises(ValueError, match="apply_to"):
        LabelFlip(apply_to="everything")


def test_instance_noise_anneals_to_zero():
    n = InstanceNoise(sigma=0.2, anneal_steps=100, schedule="linear")
    assert n.sigma_at(0) == pytest.approx(0.2) and n.sigma_at(50) == pytest.approx(0.1) and n.sigma_at(100) == 0
    e = InstanceNoise(sigma=0.2, anneal_steps=100, schedule="exp")
    assert e.sigma_at(100) == 0 and e.sigma_at(99) < 0.01
    out = n(_inp(), StepContext(step=0, epoch=0))
    assert 0.1 < (out.real - 1).std().item() < 0.3 and 0.1 < (out.fake + 1).std().item() < 0.3
    same = n(_inp(), StepContext(step=100, epoch=0))
    assert torch.equal(same.real, torch.ones(8, 3, 4, 4))


def test_perfect_g_substitutes_noisy_reals_after_switch_only():
    pg = PerfectG(switch_epoch=2, sigma=0.05)
    before = pg(_inp(), StepContext(step=5, epoch=1))
    assert torch.equal(before.fake, -torch.ones(8, 3, 4, 4))
    after = pg(_inp(), StepContext(step=50, epoch=2))
    assert (after.fake - 1).abs().mean() < 0.2 and (after.fake_source == NOISY_REAL).all()
    assert torch.equal(after.real, torch.ones(8, 3, 4, 4))  # noise on fakes only
    noisy_all = PerfectG(switch_step=0, sigma=0.05, noise_on="all")(_inp(), CTX0)
    assert not torch.equal(noisy_all.real, torch.ones(8, 3, 4, 4))


def test_lying_negative_replaces_a_fraction_of_fakes():
    out = LyingNegative(fraction=0.25, sigma=0.01)(_inp(), CTX0)
    assert (out.fake_source == NOISY_REAL).sum() == 2 and (out.fake_source == FAKE).sum() == 6
    assert (out.fake[:2] - 1).abs().max() < 0.1 and torch.equal(out.fake[2:], -torch.ones(6, 3, 4, 4))


def test_lying_positive_injects_the_fakes_d_rates_most_real():
    class Step:
        @staticmethod
        def D(x):
            return x.flatten(1).mean(1)  # "most real" = brightest

    fake = torch.linspace(-1, 0, 8).view(8, 1, 1, 1).expand(8, 3, 4, 4).clone()
    inp = DInputs(real=torch.ones(8, 3, 4, 4), fake=fake)
    out = LyingPositive(fraction=0.25)(inp, CTX0, algorithm=Step())
    assert (out.real_source == INJECTED).sum() == 2
    injected = out.real[out.real_source == INJECTED].flatten(1).mean(1).sort().values
    assert torch.allclose(injected, fake[-2:].flatten(1).mean(1))
    pooled = LyingPositive(fraction=0.25, pool_size=4)
    pooled(inp, CTX0, algorithm=Step())
    assert pooled.pool.shape[0] == 4 and pooled.state_dict()["pool"] is pooled.pool
