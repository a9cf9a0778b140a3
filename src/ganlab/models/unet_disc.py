"""U-Net discriminator (Schönfeld et al., CVPR 2020), the per-pixel discriminator of seed 000: an
encoder of residual down blocks ends in a GLOBAL real/fake logit per image; a decoder of residual
up blocks, with skips from the encoder, gives a PER-PIXEL logit map at the input resolution.
Losses (the paper's; ganlab's algorithms follow it): L_D = BCE of the global logit + BCE of every
pixel logit (averaged), against 1 (real) / 0 (fake); L_G the same with the fakes labelled real.
CutMix (D only): losses/unet_cutmix.py, with probability model.algorithm.cutmix_prob (the paper
ramps it from 0 to 0.5 early in training).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.models.blocks import check_divisible, make_norm
from ganlab.models.dcgan import spectral_norm_all

MAX_MULT = 8  # widths stop doubling at 8 * width


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)  # not in place: the block input also feeds the shortcut


def _conv_norm(in_ch: int, out_ch: int, norm: str) -> list[nn.Module]:
    n = make_norm(norm, out_ch)
    return [nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=n is None), *([n] if n is not None else [])]


class DownBlock(nn.Module):
    """Residual block that halves the resolution: [act] conv3 act conv3 avgpool, + conv1x1 avgpool."""

    def __init__(self, *, in_ch: int, out_ch: int, norm: str = "none",
                 preact: bool = True):     # False for the first block: the image is not activated
        super().__init__()
        self.body = nn.Sequential(*([_act()] if preact else []), *_conv_norm(in_ch, out_ch, norm), _act(),
                                  *_conv_norm(out_ch, out_ch, norm), nn.AvgPool2d(2))
        self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1), nn.AvgPool2d(2))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.shortcut(x)


class UpBlock(nn.Module):
    """Nearest x2 upsampling, concatenation of the encoder skip (skip_ch > 0), then a residual
    block: act conv3 act conv3, + conv1x1."""

    def __init__(self, *, in_ch: int, skip_ch: int, out_ch: int, norm: str = "none"):
        super().__init__()
        self.uses_skip = skip_ch > 0
        self.body = nn.Sequential(_act(), *_conv_norm(in_ch + skip_ch, out_ch, norm), _act(),
                                  *_conv_norm(out_ch, out_ch, norm))
        self.shortcut = nn.Conv2d(in_ch + skip_ch, out_ch, 1)

    def forward(self, h: Tensor, skip: Tensor | None) -> Tensor:
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        if self.uses_skip:
            h = torch.cat([h, skip], dim=1)
        return self.body(h) + self.shortcut(h)


class UNetDiscriminator(nn.Module):
    """x (B, C, H, W) -> {"global": logits (B,), "pixel": logits (B, 1, H, W)}; raw logits, the
    loss owns the sigmoid. H and W must be multiples of 2^depth.

    Encoder widths width * 2^i (i < depth, capped at 8 * width) at H / 2^(i+1); the global head
    AVERAGES the last map (the paper, after BigGAN, sums: same up to a factor the linear layer
    absorbs, and averaging keeps the logit scale independent of the image size).
    """
    data_kind = "images"  # what data it works on (training/data_kind.py)

    def __init__(self, *, channels: int = 3, width: int = 32,
                 depth: int = 3,                # down (and up) levels
                 norm: str = "none",            # none | batch | instance, inside the residual blocks
                 spectral: bool = True):        # spectral norm on every conv and linear (the paper)
        super().__init__()
        if depth < 1:
            raise ConfigError(f"depth={depth}: must be >= 1")
        self.depth = depth
        ws = [width * min(2 ** i, MAX_MULT) for i in range(depth)]
        self.encoder = nn.ModuleList(DownBlock(in_ch=c_in, out_ch=c_out, norm=norm, preact=i > 0)
                                     for i, (c_in, c_out) in enumerate(zip([channels, *ws], ws)))
        self.global_head = nn.Sequential(_act(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ws[-1], 1))
        # level i goes from H / 2^(i+1) back to H / 2^i, taking the encoder map of that size
        self.decoder = nn.ModuleList(
            UpBlock(in_ch=ws[i], skip_ch=ws[i - 1] if i else 0, out_ch=ws[max(i - 1, 0)], norm=norm)
            for i in reversed(range(depth)))
        self.pixel_head = nn.Sequential(_act(), nn.Conv2d(ws[0], 1, 1))
        if spectral:
            spectral_norm_all(self)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        check_divisible(x, 2 ** self.depth, "UNetDiscriminator")
        feats, h = [], x
        for block in self.encoder:
            h = block(h)
            feats.append(h)
        out_global = self.global_head(h).squeeze(1)
        skips = [None, *feats[:-1]]  # skips[i]: the encoder map at H / 2^i (none at full size)
        for block, i in zip(self.decoder, reversed(range(self.depth))):
            h = block(h, skips[i])
        return {"global": out_global, "pixel": self.pixel_head(h)}
