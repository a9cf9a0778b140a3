"""Noise-to-image networks: DCGAN (conditional, packed, minibatch-std, norms) and the 2D MLPs."""

import pytest
import torch
from torch import nn

from ganlab.models import dcgan, mlp
from ganlab.models.init import dcgan_init

Z = 8  # tiny z and widths keep every test well under a second


def _G(**kw):
    return dcgan.Generator(**{"z_dim": Z, "image_size": 16, "width": 4, **kw})


def _D(**kw):
    return dcgan.Discriminator(**{"image_size": 16, "width": 4, **kw})


# -- shapes and sizes -------------------------------------------------------------------------
@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_dcgan_shapes_for_every_power_of_two(size):
    torch.manual_seed(0)
    G = _G(image_size=size, channels=3)
    D = _D(image_size=size, channels=3)
    x = G(torch.randn(2, Z))
    assert x.shape == (2, 3, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (2,)


def test_dcgan_widths_halve_as_resolution_doubles():
    G = dcgan.Generator(z_dim=Z, image_size=64, width=8)
    outs = [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert outs == [64, 32, 16, 8, 3]  # top = width * 2^(n_up - 1), n_up = 4 at 64x64
    D = dcgan.Discriminator(image_size=64, width=8)
    assert [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)] == [8, 16, 32, 64, 1]


def test_single_channel_images():
    x = _G(channels=1)(torch.randn(2, Z))
    assert x.shape == (2, 1, 16, 16) and _D(channels=1)(x).shape == (2,)


@pytest.mark.parametrize("bad", [48, 8, 100, 0])
def test_image_size_must_be_power_of_two_at_least_16(bad):
    with pytest.raises(ValueError, match=str(bad)):
        _G(image_size=bad)
    with pytest.raises(ValueError, match=str(bad)):
        _D(image_size=bad)


def test_d_refuses_wrong_image_size():
    with pytest.raises(ValueError, match="16x16"):
        _D()(torch.randn(2, 3, 32, 32))


def test_unknown_norm_and_init_are_refused():
    with pytest.raises(ValueError, match="norm"):
        _D(norm="instance")
    with pytest.raises(ValueError, match="init"):
        _G(init="xavier")


# -- DCGAN anatomy ----------------------------------------------------------------------------
def test_no_pooling_anywhere():
    for net in (_G(), _D(), _D(norm="layer", minibatch_std=True), _D(norm="spectral", pack=2)):
        assert not [m for m in net.modules() if "Pool" in type(m).__name__]


def test_leaky_relu_in_d_and_tanh_at_g_end():
    D, G = _D(), _G()
    acts = [m for m in D.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    assert acts and all(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in acts)
    assert isinstance(list(G.modules())[-1], nn.Tanh)
    assert any(isinstance(m, nn.ReLU) for m in G.modules())


def test_d_first_layer_has_no_batchnorm_and_no_sigmoid():
    D = _D(image_size=32)
    layers = list(D.features)
    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.modules()) == 2  # 3 convs, all but the first
    assert not any(isinstance(m, nn.Sigmoid) for m in D.modules())


def test_norm_options():
    has = lambda net, cls: any(isinstance(m, cls) for m in net.modules())  # noqa: E731
    assert not has(_D(norm="none"), (nn.BatchNorm2d, nn.GroupNorm))
    layer = _D(norm="layer", image_size=32)
    assert has(layer, nn.GroupNorm) and not has(layer, nn.BatchNorm2d)
    spectral = _D(norm="spectral")
    assert not has(spectral, nn.BatchNorm2d)
    convs = [m for m in spectral.modules() if isinstance(m, nn.Conv2d)]
    assert all(nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)


@pytest.mark.parametrize("norm", ["none", "layer", "spectral"])
def test_per_sample_norms_keep_samples_independent(norm):
    # what WGAN-GP needs: sample 0's output does not depend on the rest of the batch
    torch.manual_seed(0)
    D = _D(norm=norm, image_size=32)
    if norm == "spectral":
        D.eval()  # in train mode each forward runs one power iteration, which moves the weights
    x = torch.randn(4, 3, 32, 32)
    other = torch.cat([x[:1], torch.randn(3, 3, 32, 32)])
    torch.testing.assert_close(D(x)[0], D(other)[0])


def test_batchnorm_couples_samples_in_train_mode():
    torch.manual_seed(0)
    D = _D(norm="batch", image_size=32)
    x = torch.randn(4, 3, 32, 32)
    assert not torch.allclose(D(x)[0], D(torch.cat([x[:1], 3 * torch.randn(3, 3, 32, 32)]))[0])


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G = dcgan.Generator(z_dim=100, image_size=32, width=32)
    w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002
    bn = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(bn.mean().item() - 1) < 0.01 and 0.01 < bn.std().item() < 0.03
    assert all((m.bias == 0).all() for m in G.modules() if isinstance(m, nn.BatchNorm2d))
    default = dcgan.Generator(z_dim=100, image_size=32, width=32, init="default")
    assert all((m.weight == 1).all() for m in default.modules() if isinstance(m, nn.BatchNorm2d))


def test_dcgan_init_is_recursive_and_apply_compatible():
    net = nn.Sequential(nn.Conv2d(3, 64, 3), nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64)))
    assert dcgan_init(net) is net
    assert net[1][0].weight.std().item() == pytest.approx(0.02, abs=0.003)
    assert (net[0].bias == 0).all() and (net[1][1].bias == 0).all()
    net.apply(dcgan_init)  # also usable per module


# -- conditioning -----------------------------------------------------------------------------
def test_conditional_g_and_d_use_the_class():
    torch.manual_seed(0)
    G, D = _G(num_classes=5), _D(num_classes=5)
    z = torch.randn(4, Z)
    y0, y1 = torch.tensor([0, 1, 2, 3]), torch.tensor([4, 4, 0, 0])
    assert not torch.allclose(G(z, y0), G(z, y1))
    x = G(z, y0).detach()
    assert not torch.allclose(D(x, y0), D(x, y1))
    with pytest.raises(ValueError, match="without y"):
        G(z)
    with pytest.raises(ValueError, match="without y"):
        D(x)


@pytest.mark.parametrize("norm", ["batch", "spectral"])
def test_projection_d_sees_the_class_only_through_its_embedding(norm):
    torch.manual_seed(0)
    D = _D(num_classes=5, conditioning="projection", norm=norm).eval()
    assert D.features[0].in_channels == 3  # no class maps joined to the image
    x, y0, y1 = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3]), torch.tensor([4, 4, 0, 0])
    assert not torch.allclose(D(x, y0), D(x, y1))
    with pytest.raises(ValueError, match="without y"):
        D(x)
    blind = _D(num_classes=5, conditioning="projection").eval()
    nn.init.zeros_(blind.embed.weight)
    assert torch.equal(blind(x, y0), blind(x, y1))


def test_projection_d_refuses_packs_and_unknown_conditioning():
    with pytest.raises(ValueError, match="pack"):
        _D(num_classes=5, conditioning="projection", pack=2)
    with pytest.raises(ValueError, match="conditioning='film'"):
        _D(num_classes=5, conditioning="film")


def test_unconditional_networks_refuse_labels():
    with pytest.raises(ValueError, match="num_classes=0"):
        _G()(torch.randn(2, Z), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="num_classes=0"):
        mlp.Discriminator(hidden=8)(torch.randn(2, 2), torch.tensor([0, 1]))


# -- PacGAN and minibatch std ------------------------------------------------------------------
def test_dcgan_pack_gives_one_output_per_pack():
    torch.manual_seed(0)
    D = _D(pack=4, norm="none")
    x = torch.randn(8, 3, 16, 16)
    out = D(x)
    assert out.shape == (2,)
    x2 = x.clone()
    x2[5] = torch.randn(3, 16, 16)  # a sample of the second pack: only that output moves
    out2 = D(x2)
    assert out2[0] == out[0] and out2[1] != out[1]
    with pytest.raises(ValueError, match="pack=4"):
        D(torch.randn(6, 3, 16, 16))


def test_conditional_packed_d():
    D = _D(pack=2, num_classes=3)
    assert D(torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 0])).shape == (2,)


def test_mlp_pack_concatenates_features():
    torch.manual_seed(0)
    D = mlp.Discriminator(hidden=16, pack=4)
    assert D.features[0].in_features == 8  # (B, 2) -> (B // 4, 8)
    assert D(torch.randn(8, 2)).shape == (2,)
    with pytest.raises(ValueError, match="pack=4"):
        D(torch.randn(10, 2))


@pytest.mark.parametrize("make", [lambda mb: _D(norm="none", minibatch_std=mb),
                                  lambda mb: mlp.Discriminator(hidden=16, minibatch_std=mb)])
def test_minibatch_std_depends_on_batch_statistics(make):
    torch.manual_seed(0)
    D_std, D_plain = make(True), make(False)
    shape = (1, 3, 16, 16) if isinstance(D_std, dcgan.Discriminator) else (1, 2)
    x0 = torch.randn(*shape)
    varied = torch.cat([x0, torch.randn(3, *shape[1:])])
    collapsed = x0.expand(4, *shape[1:])  # a collapsed "G": no variety at all
    assert not torch.allclose(D_std(varied)[0], D_std(collapsed)[0])
    torch.testing.assert_close(D_plain(varied)[0], D_plain(collapsed)[0])


def test_minibatch_std_feature_value():
    h = torch.tensor([[1.0, 0.0], [3.0, 4.0]])  # per-feature std (biased): 1 and 2 -> mean 1.5
    out = dcgan.MinibatchStd()(h)
    assert out.shape == (2, 3)
    torch.testing.assert_close(out[:, 2], torch.full((2,), 1.5))


# -- MLPs -------------------------------------------------------------------------------------
def test_mlp_shapes_linear_output_and_depth():
    torch.manual_seed(0)
    G = mlp.Generator(hidden=32, depth=3)
    D = mlp.Discriminator(hidden=32, depth=3)
    z = 10 * torch.randn(16, 2)
    x = G(z)
    assert x.shape == (16, 2) and D(x).shape == (16,)
    assert isinstance(G.net[-1], nn.Linear)  # no tanh: the mixtures span [-2, 2] and beyond
    assert sum(isinstance(m, nn.Linear) for m in G.modules()) == 4
    assert sum(isinstance(m, nn.Linear) for m in D.modules()) == 4
    acts = [m for m in D.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    assert all(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in acts)
    with pytest.raises(ValueError, match="depth"):
        mlp.Generator(depth=0)


def test_mlp_conditional_and_norms():
    torch.manual_seed(0)
    G = mlp.Generator(hidden=16, num_classes=4)
    D = mlp.Discriminator(hidden=16, num_classes=4, norm="layer", pack=2)
    z, y0, y1 = torch.randn(4, 2), torch.tensor([0, 1, 2, 3]), torch.tensor([3, 3, 3, 3])
    assert not torch.allclose(G(z, y0), G(z, y1))
    x = G(z, y0).detach()
    assert not torch.allclose(D(x, y0), D(x, y1))
    assert any(isinstance(m, nn.LayerNorm) for m in D.modules())
    sn = mlp.Discriminator(hidden=16, norm="spectral")
    linears = [m for m in sn.modules() if isinstance(m, nn.Linear)]
    assert all(nn.utils.parametrize.is_parametrized(m, "weight") for m in linears)
    with pytest.raises(ValueError, match="norm"):
        mlp.Discriminator(norm="group")


# -- gradients --------------------------------------------------------------------------------
def _all_params_get_gradients(G, D, z, y=None):
    x = G(z) if y is None else G(z, y)
    (D(x) if y is None else D(x, y)).mean().backward()
    for net in (G, D):
        for name, p in net.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("d_kw", [{}, {"norm": "layer", "minibatch_std": True},
                                  {"norm": "spectral", "pack": 2}, {"num_classes": 3}])
def test_dcgan_gradients_flow(d_kw):
    torch.manual_seed(0)
    k = d_kw.get("num_classes", 0)
    y = torch.tensor([0, 1, 2, 0]) if k else None
    _all_params_get_gradients(_G(num_classes=k), _D(**d_kw), torch.randn(4, Z), y)


@pytest.mark.parametrize("d_kw", [{}, {"norm": "layer", "minibatch_std": True},
                                  {"norm": "spectral", "pack": 2}])
def test_mlp_gradients_flow(d_kw):
    torch.manual_seed(0)
    G, D = mlp.Generator(hidden=16), mlp.Discriminator(hidden=16, **d_kw)
    _all_params_get_gradients(G, D, torch.randn(8, 2))


def test_gradient_penalty_double_backward_through_d():
    # WGAN-GP differentiates D's input gradient: every critic variant must support it
    for D in (_D(norm="layer"), _D(norm="none", minibatch_std=True), mlp.Discriminator(hidden=16)):
        x = torch.randn(4, *((3, 16, 16) if isinstance(D, dcgan.Discriminator) else (2,)), requires_grad=True)
        (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
        g.flatten(1).norm(dim=1).sum().backward()
        first = next(m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
        assert first.weight.grad is not None and first.weight.grad.abs().sum() > 0
