"""The CycleGAN ResNet generator (Zhu et al. 2017, after Johnson et al. 2016): the baseline that
model=agan is compared with.

    c7s1-w, d2w, d4w, R4w x n_blocks, u2w, uw, c7s1-C + tanh

c7s1-k: reflection-padded 7x7 conv, stride 1, norm, ReLU. dk: 3x3 conv, stride 2, norm, ReLU.
Rk: residual block of two reflection-padded 3x3 convs. uk: 3x3 TRANSPOSED conv, stride 2
(output_padding 1, so the size exactly doubles), norm, ReLU — the paper's fractionally-strided
convolution. 9 blocks for 256x256 images, 6 below (the paper's rule; `n_blocks=None` applies it
to `image_size`). Weights start N(0, 0.02) as in CycleGAN. Images must be a multiple of 4 on
each side.
"""

from __future__ import annotations

from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.models.blocks import ConvNormAct, ResidualBlock, check_divisible, make_norm
from ganlab.models.init import dcgan_init


class ResnetGenerator(nn.Module):
    """x (B, C, H, W) in [-1, 1] -> {"out": (B, C, H, W) in [-1, 1]} (the dict convention shared
    with AttentionGenerator; no attention mask here)."""
    data_kind = "images"  # what data it works on (training/data_kind.py)

    def __init__(self, *, channels: int = 3, width: int = 64,
                 n_blocks: int | None = 9,      # residual blocks at 1/4 resolution; None: from image_size
                 image_size: int | None = None,  # for n_blocks=None: 9 blocks at >= 256 px, else 6
                 norm: str = "instance",        # instance | batch | none
                 norm_affine: bool = True):     # instance norm with a learnable scale/shift (reference: no)
        super().__init__()
        n_blocks = auto_blocks(n_blocks, image_size)
        if n_blocks < 0:
            raise ConfigError(f"n_blocks={n_blocks}: must be >= 0")
        w, nk = width, {"norm": norm, "norm_affine": norm_affine}
        self.n_blocks = n_blocks
        layers: list[nn.Module] = [
            ConvNormAct(in_ch=channels, out_ch=w, kernel=7, padding_mode="reflect", **nk),
            ConvNormAct(in_ch=w, out_ch=2 * w, stride=2, **nk),
            ConvNormAct(in_ch=2 * w, out_ch=4 * w, stride=2, **nk),
            *(ResidualBlock(ch=4 * w, **nk) for _ in range(n_blocks)),
            *_up(4 * w, 2 * w, norm, norm_affine), *_up(2 * w, w, norm, norm_affine),
            ConvNormAct(in_ch=w, out_ch=channels, kernel=7, padding_mode="reflect", norm="none", act="tanh"),
        ]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        check_divisible(x, 4, "ResnetGenerator")
        return {"out": self.net(x)}


def auto_blocks(n_blocks: int | None, image_size: int | None) -> int:
    """n_blocks as given, or the paper's choice for the image size: 9 at 256 px and above, 6 below."""
    if n_blocks is not None:
        return int(n_blocks)
    if image_size is None:
        raise ConfigError("ResnetGenerator: n_blocks=null needs image_size (9 blocks at >= 256 px, 6 below)")
    return 9 if image_size >= 256 else 6


def _up(in_ch: int, out_ch: int, norm: str, affine: bool) -> list[nn.Module]:
    norm_layer = make_norm(norm, out_ch, affine)
    conv = nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1, bias=norm_layer is None)
    return [conv, *([norm_layer] if norm_layer is not None else []), nn.ReLU(inplace=True)]
