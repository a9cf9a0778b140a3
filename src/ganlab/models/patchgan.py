"""PatchGAN discriminator (Isola et al. 2017, used by CycleGAN): one real/fake logit per image
patch. With n_layers=3 it is C64-C128-C256-C512 (4x4 convs, strides 2, 2, 2, 1) then a 1-channel
4x4 conv, LeakyReLU(0.2), no norm on the first layer: each logit sees a 70x70 patch. The seed
notes it leaves patch-sized artefacts; model/discriminator=unet is the per-pixel alternative.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.models.blocks import ConvNormAct
from ganlab.models.init import dcgan_init

MAX_MULT = 8  # widths stop doubling at 8 * width (512 for width=64)


class PatchDiscriminator(nn.Module):
    """x (B, C, H, W) -> raw logits (B, 1, h, w), one per overlapping patch (h = H/8 - 2 for
    n_layers=3). No sigmoid: the loss owns it. Weights start N(0, 0.02) as in CycleGAN."""
    data_kind = "images"  # what data it works on (training/data_kind.py)

    def __init__(self, *, channels: int = 3, width: int = 64,
                 n_layers: int = 3,             # stride-2 convs; 3 gives the 70x70 patch
                 norm: str = "instance"):       # instance | batch | none (none: a strictly local D)
        super().__init__()
        if n_layers < 1:
            raise ConfigError(f"n_layers={n_layers}: must be >= 1")
        mults = [min(2 ** i, MAX_MULT) for i in range(n_layers + 1)]
        layers: list[nn.Module] = [ConvNormAct(in_ch=channels, out_ch=width, kernel=4, stride=2, padding=1,
                                               norm="none", act="lrelu")]
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1
            layers.append(ConvNormAct(in_ch=width * mults[i - 1], out_ch=width * mults[i], kernel=4,
                                      stride=stride, padding=1, norm=norm, act="lrelu"))
        layers.append(nn.Conv2d(width * mults[-1], 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def receptive_field(layers: nn.Module | Iterable[tuple[int, int] | tuple[int, int, int]]) -> int:
    """Side of the input window that one output location depends on, for a CHAIN of layers:
    rf = 1 + sum_l (k_eff_l - 1) * prod_{m<l} stride_m, with k_eff = dilation * (kernel - 1) + 1.

    `layers`: a module (its Conv2d and pooling layers, in registration order, must form a chain)
    or (kernel, stride[, dilation]) specs. Norms count as pointwise: use norm="none" or eval-mode
    batch norm when the field matters — instance norm's statistics span the whole image.
    """
    specs = _layer_specs(layers) if isinstance(layers, nn.Module) else [tuple(s) for s in layers]
    rf, jump = 1, 1
    for kernel, stride, *dil in specs:
        rf += (dil[0] if dil else 1) * (kernel - 1) * jump
        jump *= stride
    return rf


def _layer_specs(module: nn.Module) -> list[tuple[int, int, int]]:
    specs = []
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, d = (_first(getattr(m, a, 1)) for a in ("kernel_size", "stride", "dilation"))
            specs.append((k, s, d))
    return specs


def _first(v) -> int:
    return int(v[0]) if isinstance(v, tuple) else int(v)
