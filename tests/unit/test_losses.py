"""Adversarial losses: sign conventions, closed forms, label targets, clipping, gradient penalty's norm term."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlab.losses.adversarial import BCE, LSGAN, WGAN, WGANGP, Hinge, gradient_penalty

LOSSES = {"bce": BCE, "lsgan": LSGAN, "hinge": Hinge, "wgan": WGAN, "wgan_gp": WGANGP}
PROBABILISTIC = ("bce", "lsgan")


@pytest.fixture(params=list(LOSSES))
def named_loss(request):
    return request.param, LOSSES[request.param]()


def _patch(v: torch.Tensor, h: int = 3, w: int = 5) -> torch.Tensor:
    """(B,) -> (B, 1, h, w): every patch of sample i holds v[i]."""
    return v[:, None, None, None].expand(-1, 1, h, w)


# -- conventions shared by every loss ----------------------------------------------------------
def test_d_loss_lower_when_real_high_and_fake_low(named_loss):
    _, loss = named_loss
    good = loss.d_loss(torch.full((4,), 0.9), torch.full((4,), 0.1))
    bad = loss.d_loss(torch.full((4,), 0.1), torch.full((4,), 0.9))
    assert good < bad


def test_gradient_signs(named_loss):
    # from a neutral point, D gains by raising real outputs and lowering fake ones; G by raising fake
    _, loss = named_loss
    real = torch.full((4,), 0.5, requires_grad=True)
    fake = torch.full((4,), 0.5, requires_grad=True)
    g_real, g_fake = torch.autograd.grad(loss.d_loss(real, fake), (real, fake))
    assert (g_real < 0).all() and (g_fake > 0).all()
    (g_gen,) = torch.autograd.grad(loss.g_loss(fake), fake)
    assert (g_gen < 0).all()


def test_g_loss_lower_when_fake_high(named_loss):
    _, loss = named_loss
    assert loss.g_loss(torch.full((4,), 0.9)) < loss.g_loss(torch.full((4,), 0.1))


@pytest.mark.parametrize("shape", [(6,), (6, 1, 4, 4)])
def test_scalar_outputs_on_vectors_and_patches(named_loss, shape):
    _, loss = named_loss
    real, fake = torch.randn(shape), torch.randn(shape)
    assert loss.d_loss(real, fake).dim() == 0
    assert loss.g_loss(fake).dim() == 0
    assert loss.d_output(real).shape == (6,)


def test_patch_outputs_match_per_sample_outputs(named_loss):
    # a patch map holding one value per sample is the same as that value as a (B,) output
    name, loss = named_loss
    real, fake = torch.randn(4), torch.randn(4)
    targets = {"real_target": torch.full((4,), 0.9), "fake_target": torch.full((4,), 0.1)}
    torch.testing.assert_close(loss.d_loss(_patch(real), _patch(fake), **targets),
                               loss.d_loss(real, fake, **targets))
    torch.testing.assert_close(loss.g_loss(_patch(fake)), loss.g_loss(fake))
    torch.testing.assert_close(loss.d_output(_patch(real)), loss.d_output(real))


def test_only_probabilistic_losses_use_label_targets(named_loss):
    name, loss = named_loss
    real, fake = torch.randn(8), torch.randn(8)
    plain = loss.d_loss(real, fake)
    smoothed = loss.d_loss(real, fake, real_target=torch.full((8,), 0.9), fake_target=torch.zeros(8))
    if name in PROBABILISTIC:
        assert not torch.allclose(plain, smoothed)
    else:
        torch.testing.assert_close(plain, smoothed)


def test_d_output_probabilities_only_for_bce(named_loss):
    name, loss = named_loss
    raw = torch.tensor([-50.0, -1.0, 0.0, 2.0, 50.0])
    out = loss.d_output(raw)
    if name == "bce":
        assert ((out >= 0) & (out <= 1)).all()
        torch.testing.assert_close(out, torch.sigmoid(raw))
    else:
        torch.testing.assert_close(out, raw)
    assert not out.requires_grad


# -- closed forms -------------------------------------------------------------------------------
def test_bce_closed_form_and_non_saturating_g():
    real, fake = torch.randn(16), torch.randn(16)
    expected_d = (-torch.log(torch.sigmoid(real)) - torch.log(1 - torch.sigmoid(fake))).mean()
    torch.testing.assert_close(BCE().d_loss(real, fake), expected_d)
    torch.testing.assert_close(BCE().g_loss(fake), -torch.log(torch.sigmoid(fake)).mean())


def test_bce_non_saturating_g_keeps_gradient_when_d_wins():
    # log(1 - D(G(z))) saturates when D rejects fakes confidently; -log D(G(z)) does not
    fake = torch.tensor([-10.0], requires_grad=True)
    (g,) = torch.autograd.grad(BCE().g_loss(fake), fake)
    assert g.abs().item() > 0.99


def test_bce_with_smoothed_targets():
    real, fake = torch.randn(16), torch.randn(16)
    rt, ft = torch.full((16,), 0.9), torch.full((16,), 0.1)
    s_r, s_f = torch.sigmoid(real), torch.sigmoid(fake)
    expected = ((-0.9 * s_r.log() - 0.1 * (1 - s_r).log()).mean()
                + (-0.1 * s_f.log() - 0.9 * (1 - s_f).log()).mean())
    torch.testing.assert_close(BCE().d_loss(real, fake, rt, ft), expected)


def test_lsgan_closed_form():
    real, fake = torch.randn(16), torch.randn(16)
    torch.testing.assert_close(LSGAN().d_loss(real, fake),
                               0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean())
    torch.testing.assert_close(LSGAN().g_loss(fake), 0.5 * ((fake - 1) ** 2).mean())
    rt = torch.full((16,), 0.9)
    torch.testing.assert_close(LSGAN().d_loss(real, fake, real_target=rt),
                               0.5 * ((real - 0.9) ** 2).mean() + 0.5 * (fake ** 2).mean())


def test_hinge_and_wgan_closed_forms():
    real, fake = torch.randn(16), torch.randn(16)
    torch.testing.assert_close(Hinge().d_loss(real, fake), F.relu(1 - real).mean() + F.relu(1 + fake).mean())
    torch.testing.assert_close(Hinge().g_loss(fake), -fake.mean())
    for loss in (WGAN(), WGANGP()):
        torch.testing.assert_close(loss.d_loss(real, fake), fake.mean() - real.mean())  # -(course's critic)
        torch.testing.assert_close(loss.g_loss(fake), -fake.mean())


# -- WGAN weight clipping ------------------------------------------------------------------------
def test_wgan_clips_every_parameter_after_d_step():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(2, 16), nn.LayerNorm(16), nn.Linear(16, 1))
    with torch.no_grad():
        for p in D.parameters():
            p.normal_(0, 1)
    inside = D[0].weight.detach().clone().clamp(-0.05, 0.05)
    WGAN(clip=0.05).after_d_step(D)
    for p in D.parameters():
        assert p.abs().max() <= 0.05
    torch.testing.assert_close(D[0].weight.detach(), inside)  # clamped, not rescaled


def test_default_clip_is_the_papers_and_wgan_gp_does_not_clip():
    assert WGAN().clip == 0.01
    D = nn.Linear(2, 1)
    with torch.no_grad():
        D.weight.fill_(3.0)
    WGANGP().after_d_step(D)
    assert (D.weight == 3.0).all()


# -- gradient penalty ----------------------------------------------------------------------------
def test_gradient_penalty_on_a_handmade_gradient():
    grad = torch.zeros(3, 2, 2, 2)
    grad[0, 0, 0, 0] = 1.0     # ||g|| = 1 -> 0
    grad[1, :, 0, 0] = 2.0     # ||g|| = sqrt(8)
    # grad[2] = 0              # ||g|| = 0 -> 1
    expected = ((0.0) ** 2 + (math.sqrt(8) - 1) ** 2 + 1.0) / 3
    torch.testing.assert_close(gradient_penalty(grad), torch.tensor(expected))
# (the penalty itself, GradientPenalty, in tests/test_regularisers.py)
