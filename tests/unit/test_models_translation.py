"""Image-translation networks: aNet (attention generator), the CycleGAN ResNet generator, the
PatchGAN and U-Net discriminators, CutMix/consistency helpers and the discriminator configs."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from ganlab.losses.unet_cutmix import consistency_loss, cutmix
from ganlab.models.agan import AttentionGenerator, DilatedBottleneck
from ganlab.models.cyclegan import ResnetGenerator
from ganlab.models.patchgan import PatchDiscriminator, receptive_field
from ganlab.models.unet_disc import UNetDiscriminator

CONF = Path(__file__).resolve().parents[2] / "conf"
W = 4  # tiny widths keep every test well under a second


def _x(b=2, c=3, s=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, s, s, generator=g) * 2 - 1


def _agan(**kw):
    torch.manual_seed(0)
    return AttentionGenerator(**{"width": W, **kw})


def _unet_d(**kw):
    torch.manual_seed(0)
    return UNetDiscriminator(**{"width": W, **kw})


# -- aNet -------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 3])
def test_agan_shapes_and_ranges(channels):
    out = _agan(channels=channels)(_x(c=channels))
    assert set(out) == {"out", "gen", "attn"}
    assert out["out"].shape == out["gen"].shape == (2, channels, 32, 32)
    assert out["attn"].shape == (2, 1, 32, 32)
    assert out["attn"].min() >= 0 and out["attn"].max() <= 1
    for k in ("out", "gen"):
        assert out[k].min() >= -1 and out[k].max() <= 1


def test_agan_output_is_the_attention_fusion():
    x = _x()
    o = _agan()(x)
    a = o["attn"]
    assert torch.equal(o["out"], (1 - a) * x + a * o["gen"])


def test_agan_initial_mask_is_not_saturated():
    a = _agan().eval()(_x())["attn"]
    assert 0.3 < a.mean() < 0.7 and a.min() > 0.05 and a.max() < 0.95


def test_agan_closed_mask_returns_the_input():
    G = _agan().eval()
    with torch.no_grad():
        G.mask_conv.bias.fill_(-1e4)
    x = _x()
    o = G(x)
    assert o["attn"].max() < 1e-6
    assert torch.allclose(o["out"], x, atol=1e-6)
    assert not torch.allclose(o["gen"], x, atol=1e-2)  # the generator did produce something else


def test_bottleneck_sums_the_dilation_steps():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8)
    single = DilatedBottleneck(in_ch=4, out_ch=6, dilations=(2,)).eval()
    assert torch.equal(single(x), single.steps[0](x))
    chain = DilatedBottleneck(in_ch=4, out_ch=6, dilations=(1, 2, 4, 8)).eval()
    steps, h = [], x
    for step in chain.steps:
        h = step(h)
        steps.append(h)
    assert torch.allclose(chain(x), sum(steps), atol=1e-6)
    convs = [s.conv for s in chain.steps]
    assert [(c.dilation[0], c.padding[0], c.kernel_size[0]) for c in convs] == [(d, d, 3) for d in (1, 2, 4, 8)]


def test_agan_dilations_are_configurable():
    G = _agan(dilations=[1, 3])  # a Hydra ListConfig arrives as a list
    assert [s.conv.dilation[0] for s in G.bottleneck.steps] == [1, 3]
    assert G(_x())["out"].shape == (2, 3, 32, 32)


def test_agan_generator_decoder_drops_the_full_resolution_skip():
    G = _agan()
    assert [b.uses_skip for b in G.attn_decoder.blocks] == [True, True, True]
    assert [b.uses_skip for b in G.gen_decoder.blocks] == [True, True, False]
    # the full-resolution block's first conv sees only the upsampled features, no skip channels
    gen_last, attn_last = G.gen_decoder.blocks[-1], G.attn_decoder.blocks[-1]
    assert gen_last.convs[0].conv.in_channels == 2 * W
    assert attn_last.convs[0].conv.in_channels == 2 * W + W


def test_agan_gen_ignores_the_full_resolution_skip():
    G = _agan().eval()
    x, seen = _x(), {}
    G.gen_decoder.blocks[-1].register_forward_hook(lambda m, args, out: seen.setdefault("skip", args[1]))
    G(x)
    assert seen["skip"] is None


def _dropout_per_block(G):
    return [sum(isinstance(m, nn.modules.dropout._DropoutNd) for m in b.modules()) > 0 for b in G.encoder]


def test_agan_dropout_only_in_early_blocks():
    assert _dropout_per_block(_agan()) == [True, False, False]
    assert _dropout_per_block(_agan(dropout_blocks=2)) == [True, True, False]
    assert _dropout_per_block(_agan(dropout=0.0)) == [False, False, False]
    G = _agan()
    late = [G.bottleneck, G.attn_decoder, G.gen_decoder]
    assert not any(isinstance(m, nn.modules.dropout._DropoutNd) for part in late for m in part.modules())


def test_agan_norms():
    assert any(isinstance(m, nn.BatchNorm2d) for m in _agan().modules())
    inst = _agan(norm="instance")
    assert any(isinstance(m, nn.InstanceNorm2d) for m in inst.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in inst.modules())
    with pytest.raises(ValueError, match="norm"):
        _agan(norm="layer")
    with pytest.raises(ValueError, match="dropout_blocks"):
        _agan(dropout_blocks=4)


@pytest.mark.parametrize("size", [(30, 32), (32, 36), (12, 12)])
def test_agan_refuses_sizes_not_divisible_by_8(size):
    h, w = size
    with pytest.raises(ValueError, match=f"{h}x{w}.*divisible by 8"):
        _agan()(torch.zeros(1, 3, h, w))


def test_agan_accepts_non_square_multiples_of_8():
    assert _agan()(torch.zeros(2, 3, 24, 40))["attn"].shape == (2, 1, 24, 40)


# -- CycleGAN ResNet generator ---------------------------------------------------------------
@pytest.mark.parametrize("n_blocks", [0, 2])
def test_resnet_generator_shapes_and_range(n_blocks):
    torch.manual_seed(0)
    G = ResnetGenerator(width=W, n_blocks=n_blocks)
    out = G(_x())
    assert set(out) == {"out"}
    assert out["out"].shape == (2, 3, 32, 32)
    assert out["out"].min() >= -1 and out["out"].max() <= 1


def test_resnet_generator_structure():
    G = ResnetGenerator(width=W, n_blocks=3)
    convs = [m for m in G.modules() if isinstance(m, nn.Conv2d)]
    assert (convs[0].kernel_size, convs[0].padding_mode) == ((7, 7), "reflect")
    assert (convs[-1].kernel_size, convs[-1].out_channels) == ((7, 7), 3)
    assert [m.stride[0] for m in convs[1:3]] == [2, 2]
    ups = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.stride[0]) for m in ups] == [(4 * W, 2 * W, 2), (2 * W, W, 2)]
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in G.modules()) == 2 + 2 * 3 + 2 + 1
    with pytest.raises(ValueError, match="divisible by 4"):
        G(torch.zeros(1, 3, 30, 30))


@pytest.mark.parametrize(("size", "blocks"), [(64, 6), (128, 6), (255, 6), (256, 9), (512, 9)])
def test_resnet_generator_blocks_follow_the_image_size(size, blocks):
    assert ResnetGenerator(width=W, n_blocks=None, image_size=size).n_blocks == blocks
    assert ResnetGenerator(width=W, n_blocks=2, image_size=size).n_blocks == 2  # a number wins


def test_resnet_generator_auto_blocks_need_the_image_size():
    from ganlab.errors import ConfigError
    with pytest.raises(ConfigError, match="image_size"):
        ResnetGenerator(width=W, n_blocks=None)


def test_instance_norm_without_affine_parameters():
    plain, affine = ResnetGenerator(width=W, n_blocks=2, norm_affine=False), ResnetGenerator(width=W, n_blocks=2)
    norms = [m for m in plain.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(not m.affine and m.weight is None and not m.track_running_stats for m in norms)
    per_channel = sum(m.num_features for m in norms)
    count = [sum(p.numel() for p in g.parameters()) for g in (plain, affine)]
    assert count[1] - count[0] == 2 * per_channel  # a scale and a shift per normalised channel


def test_cyclegan_config_is_the_reference_generator():
    from ganlab.config import compose
    for size, blocks in ((128, 6), (256, 9)):
        cfg = compose(["model=cyclegan", "data=horse2zebra", f"data.image_size={size}", "model.width=4"])
        G = instantiate(cfg.model.generator)
        assert G.n_blocks == blocks
        assert not any(isinstance(m, nn.InstanceNorm2d) and m.affine for m in G.modules())


def test_resnet_generator_full_size_parameter_count():
    # the reference CycleGAN generator (width 64, 9 blocks) has 11.378M parameters
    n = sum(p.numel() for p in ResnetGenerator().parameters())
    assert abs(n - 11_378_000) < 10_000


# -- PatchGAN ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size, out", [(32, 2), (64, 6)])
def test_patchgan_shapes(size, out):
    torch.manual_seed(0)
    D = PatchDiscriminator(width=W)
    assert D(_x(s=size)).shape == (2, 1, out, out)


def test_patchgan_layers():
    D = PatchDiscriminator(width=8)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 64, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    assert all(c.kernel_size == (4, 4) for c in convs)
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in D.modules()) == 3  # none on the first layer
    assert sum(isinstance(m, nn.BatchNorm2d) for m in PatchDiscriminator(width=8, norm="batch").modules()) == 3


def test_patchgan_receptive_field_is_70():
    assert receptive_field(PatchDiscriminator(width=W, n_layers=3)) == 70
    assert receptive_field([(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]) == 70
    assert receptive_field(PatchDiscriminator(width=W, n_layers=1)) == 16
    assert receptive_field([(3, 1, 2)]) == 5  # dilation widens the kernel
    assert receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))) == 8


def test_patchgan_gradient_receptive_field_is_70x70():
    torch.manual_seed(0)
    D = PatchDiscriminator(width=2, norm="none")  # instance norm would couple every pixel
    x = torch.randn(1, 3, 128, 128, requires_grad=True)
    y = D(x)
    i, j = y.shape[-2] // 2, y.shape[-1] // 2
    y[0, 0, i, j].backward()
    rows, cols = (x.grad.abs().sum((0, 1)) > 0).nonzero(as_tuple=True)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (70, 70)


# -- U-Net discriminator ----------------------------------------------------------------------
@pytest.mark.parametrize("depth", [1, 3])
def test_unet_d_shapes(depth):
    out = _unet_d(depth=depth)(_x())
    assert set(out) == {"global", "pixel"}
    assert out["global"].shape == (2,)
    assert out["pixel"].shape == (2, 1, 32, 32)


def test_unet_d_options():
    D = _unet_d(spectral=True)
    assert any(nn.utils.parametrize.is_parametrized(m, "weight") for m in D.modules())
    assert not any(nn.utils.parametrize.is_parametrized(m, "weight") for m in _unet_d(spectral=False).modules())
    assert any(isinstance(m, nn.InstanceNorm2d) for m in _unet_d(norm="instance").modules())
    with pytest.raises(ValueError, match="divisible by 8"):
        _unet_d()(torch.zeros(1, 3, 20, 20))


def test_cutmix_probability_is_the_algorithms_and_needs_a_unet_d():
    from ganlab.algorithms.gan import check_cutmix
    from ganlab.models.patchgan import PatchDiscriminator
    assert check_cutmix(0.3, _unet_d()) == 0.3
    with pytest.raises(ValueError, match="must be in"):
        check_cutmix(1.5, _unet_d())
    with pytest.raises(ValueError, match="model/discriminator=unet"):
        check_cutmix(0.5, PatchDiscriminator(channels=3, width=8))


def test_cutmix_mask_is_binary_and_mixes():
    real, fake = _x(b=64, seed=1), _x(b=64, seed=2)
    mixed, mask = cutmix(real, fake, generator=torch.Generator().manual_seed(0))
    assert mask.shape == (64, 1, 32, 32)
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    m = mask.bool().expand_as(real)
    assert torch.equal(mixed[m], real[m]) and torch.equal(mixed[~m], fake[~m])
    ratios = mask.mean((1, 2, 3))
    assert 0.3 < ratios.mean() < 0.7 and ratios.std() > 0.15  # area ratio ~ U(0, 1)
    # every mask is one axis-aligned box: its area is (#rows) x (#cols) it touches
    rows, cols = mask[:, 0].amax(2).sum(1), mask[:, 0].amax(1).sum(1)
    assert torch.equal(rows * cols, mask.sum((1, 2, 3)))


def test_cutmix_is_reproducible_with_a_generator():
    real, fake = _x(seed=1), _x(seed=2)
    a = cutmix(real, fake, generator=torch.Generator().manual_seed(3))[1]
    b = cutmix(real, fake, generator=torch.Generator().manual_seed(3))[1]
    assert torch.equal(a, b)


def test_consistency_loss_zero_for_a_per_pixel_linear_d():
    torch.manual_seed(0)
    real, fake = _x(seed=1), _x(seed=2)
    mixed, mask = cutmix(real, fake, generator=torch.Generator().manual_seed(0))
    pointwise = nn.Conv2d(3, 1, 1)
    loss = consistency_loss(pointwise(mixed), pointwise(real), pointwise(fake), mask)
    assert loss.abs() < 1e-10
    D = _unet_d()
    loss = consistency_loss(D(mixed)["pixel"], D(real)["pixel"], D(fake)["pixel"], mask)
    assert loss > 0


# -- every network learns -------------------------------------------------------------------
NETS = {
    "agan": lambda: _agan(),
    "agan_instance": lambda: _agan(norm="instance", dropout_blocks=0),
    "resnet": lambda: ResnetGenerator(width=W, n_blocks=1),
    "patchgan": lambda: PatchDiscriminator(width=W),
    "unet_d": lambda: _unet_d(),
}


@pytest.mark.parametrize("name", NETS)
def test_every_parameter_gets_a_finite_gradient(name):
    torch.manual_seed(0)
    net = NETS[name]()
    out = net(_x())
    outs = out.values() if isinstance(out, dict) else [out]
    sum(o.square().mean() for o in outs).backward()
    for pname, p in net.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname


# -- configs ------------------------------------------------------------------------------------
TRANSLATION_DS = {"patchgan": PatchDiscriminator, "unet": UNetDiscriminator}


@pytest.mark.parametrize("stem", TRANSLATION_DS)
def test_discriminator_configs_instantiate(stem):
    d_cfg = OmegaConf.load(CONF / "model" / "discriminator" / f"{stem}.yaml")
    cfg = OmegaConf.create({"data": {"channels": 3}, "model": {"discriminator": d_cfg}})
    D = instantiate(cfg.model.discriminator)
    assert isinstance(D, TRANSLATION_DS[stem])
    out = D(_x(s=64))
    assert torch.isfinite(out["global"] if isinstance(out, dict) else out).all()
