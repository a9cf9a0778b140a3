"""BigGAN (models/biggan.py): shapes, spectral norm, attention, the projection D, conditional BN with
hierarchical z, and the orthogonal regulariser of G (algorithms/regularisers.orthogonal)."""

import pytest
import torch
from torch import nn

from ganlab.algorithms.gan import GAN
from ganlab.algorithms.regularisers import orthogonal
from ganlab.errors import ConfigError
from ganlab.losses.adversarial import Hinge
from ganlab.models import biggan

Z = 12  # tiny z and widths keep every test well under a second


def _G(**kw):
    return biggan.Generator(**{"z_dim": Z, "image_size": 16, "width": 4, "num_classes": 3, "embed_dim": 4,
                               "attention_res": 8, **kw})


def _D(**kw):
    return biggan.Discriminator(**{"image_size": 16, "width": 4, "num_classes": 3, "attention_res": 8, **kw})


def _n_attention(net: nn.Module) -> int:
    return sum(isinstance(m, biggan.SelfAttention) for m in net.modules())


@pytest.mark.parametrize("size,classes", [(16, 3), (32, 12), (32, 1), (64, 2)])
def test_shapes_of_g_and_d_outputs(size, classes):
    torch.manual_seed(0)
    G, D = _G(image_size=size, num_classes=classes), _D(image_size=size, num_classes=classes)
    y = torch.arange(4) % classes
    x = G(torch.randn(4, Z), y)
    assert x.shape == (4, 3, size, size) and x.min() >= -1 and x.max() <= 1
    assert D(x, y).shape == (4,)


def test_spectral_norm_on_every_layer_of_both():
    for net in (_G(), _D()):
        layers = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        assert layers and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    assert nn.utils.parametrize.is_parametrized(_D().embed, "weight")  # D's projection embedding too


def test_attention_at_the_chosen_resolution_or_none():
    G, D = _G(image_size=32, attention_res=16), _D(image_size=32, attention_res=16)
    assert _n_attention(G) == 1 and _n_attention(D) == 1
    assert list(G.attention) == ["16"]
    assert _n_attention(_G(image_size=32, attention_res=0)) == 0
    assert _n_attention(_D(image_size=32, attention_res=0)) == 0
    attn = biggan.SelfAttention(8)
    x = torch.randn(2, 8, 8, 8)
    assert torch.equal(attn(x), x)  # gamma starts at 0: the identity
    with torch.no_grad():
        attn.gamma.fill_(1.0)
    assert not torch.allclose(attn(x), x)


@pytest.mark.parametrize("res", [4, 12, 64])
def test_attention_resolution_out_of_range_is_a_config_error(res):
    with pytest.raises(ConfigError, match="model.attention_res"):
        _G(attention_res=res)


def test_projection_term_changes_d_output_with_the_label():
    torch.manual_seed(0)
    D = _D().eval()
    x = torch.randn(2, 3, 16, 16)
    a, b = D(x, torch.tensor([0, 0])), D(x, torch.tensor([1, 1]))
    assert not torch.allclose(a, b)
    h = torch.relu(D.blocks(x)).sum(dim=(2, 3))  # the difference is exactly <embed(0) - embed(1), h>
    torch.testing.assert_close(a - b, (h * (D.embed(torch.tensor([0])) - D.embed(torch.tensor([1])))).sum(1))


def test_class_and_every_z_chunk_reach_g():
    torch.manual_seed(0)
    G = _G().eval()
    with torch.no_grad():  # cBN's gain/bias start near 0 at orthogonal init of 4 rows: make them count
        for m in G.modules():
            if isinstance(m, biggan.ConditionalBatchNorm):
                m.gain.parametrizations.weight.original.normal_()
    z = torch.randn(1, Z)
    assert G.chunks == [4, 4, 4]  # 16 px: the 4x4 map and two blocks, one chunk each
    base = G(z, torch.tensor([0]))
    assert not torch.allclose(base, G(z, torch.tensor([1])))
    for i in range(3):
        z2 = z.clone()
        z2[0, 4 * i:4 * (i + 1)] += 1.0
        assert not torch.allclose(base, G(z2, torch.tensor([0]))), f"z chunk {i} has no effect"


def test_no_classes_is_a_config_error_naming_the_fix():
    with pytest.raises(ConfigError, match="data.num_classes"):
        _G(num_classes=0)
    with pytest.raises(ConfigError, match="data.num_classes"):
        _D(num_classes=0)


def test_orthogonal_regulariser_is_zero_for_orthogonal_weights_only():
    lin = nn.Linear(8, 4, bias=False)
    nn.init.orthogonal_(lin.weight)  # 4 orthonormal rows
    assert orthogonal(lin, 1.0).item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        lin.weight.mul_(3.0)  # off-diagonal only: the rows' norms are free
    assert orthogonal(lin, 1.0).item() == pytest.approx(0.0, abs=1e-8)
    with torch.no_grad():
        lin.weight.copy_(torch.ones(4, 8))
    # every off-diagonal entry of W W^T is 8: 12 of them, squared
    assert orthogonal(lin, 1e-4).item() == pytest.approx(1e-4 * 12 * 64)


def test_orthogonal_regulariser_reads_the_trainable_weight_under_spectral_norm():
    G = _G()
    originals = [m.parametrizations.weight.original for m in G.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():  # off the orthogonal init (wide layers start with a zero term)
        for p in originals:
            p.normal_()
    orthogonal(G, 1.0).backward()
    # (a one-row weight, as attention's 1-channel query at width 4, has no off-diagonal to penalise)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in originals if p.shape[0] > 1)
    assert G.embed.weight.grad is None  # the embedding is left out, as in BigGAN


def test_g_step_adds_the_orthogonal_term_with_gradient_to_g_only():
    torch.manual_seed(0)
    G, D = _G(), _D()
    gan = GAN(G=G, D=D, loss=Hinge(), z_dim=Z, num_classes=3, ortho_reg=1e-2)
    D.requires_grad_(False)  # as in G's phase
    batch = {"x": torch.randn(4, 3, 16, 16), "y": torch.tensor([0, 1, 2, 0])}
    out = gan.g_step(batch, None)
    torch.testing.assert_close(out["loss"].detach(), out["train/loss_g"] + out["train/ortho"])
    assert out["train/ortho"] > 0
    G.zero_grad()
    orthogonal(G, 1e-2).backward()
    assert any(p.grad is not None for p in G.parameters())
    assert all(p.grad is None for p in D.parameters())
    with pytest.raises(ConfigError, match="ortho_reg"):
        GAN(G=G, D=D, loss=Hinge(), z_dim=Z, num_classes=3, ortho_reg=-1.0)
