"""The attention-guided generator "aNet" of seed 000 (DESIGN.md 2.1).

One encoder, two decoders:

    x -> enc1 -> enc2 -> enc3 -> dilated bottleneck (H/8) -+-> attention decoder -> attn (B,1,H,W) in [0,1]
          |s1      |s2     |s3                             +-> generator decoder -> gen  (B,C,H,W) in [-1,1]
    out = (1 - attn) * x + attn * gen

Encoder blocks: two 3x3 conv-norm-ReLU, a 2x2 max-pool, the pre-pool map as skip; dropout only
in the first `dropout_blocks` (the seed keeps late features intact). Bottleneck: a chain of 3x3
convs dilated 1, 2, 4, 8, returning the SUM of every step's output. Decoder blocks: bilinear x2,
the matching skip concatenated, two 3x3 conv-norm-ReLU; the generator decoder drops the
full-resolution skip (it leaks U-Net artefacts into the image). Widths width, 2w, 4w, bottleneck
8w (about 4.5M parameters at width=32); images a multiple of 8 on each side.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.models.blocks import ConvNormAct, check_divisible

LEVELS = 3  # encoder/decoder blocks: 2^3 = 8x downscale


class EncoderBlock(nn.Module):
    """(B, in_ch, H, W) -> (pooled (B, out_ch, H/2, W/2), skip (B, out_ch, H, W))."""

    def __init__(self, *, in_ch: int, out_ch: int, norm: str = "batch", dropout: float = 0.0):
        super().__init__()
        self.convs = nn.Sequential(ConvNormAct(in_ch=in_ch, out_ch=out_ch, norm=norm),
                                   ConvNormAct(in_ch=out_ch, out_ch=out_ch, norm=norm, dropout=dropout))
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        skip = self.convs(x)
        return self.pool(skip), skip


class DilatedBottleneck(nn.Module):
    """A chain of 3x3 conv-norm-ReLU with the given dilations (padding = dilation keeps the size);
    returns the element-wise sum of every step's output."""

    def __init__(self, *, in_ch: int, out_ch: int, dilations: Sequence[int] = (1, 2, 4, 8), norm: str = "batch"):
        super().__init__()
        dilations = tuple(int(d) for d in dilations)
        if not dilations or min(dilations) < 1:
            raise ConfigError(f"dilations={dilations}: need at least one dilation, all >= 1")
        self.steps = nn.ModuleList(
            ConvNormAct(in_ch=in_ch if i == 0 else out_ch, out_ch=out_ch, dilation=d, norm=norm)
            for i, d in enumerate(dilations))

    def forward(self, x: Tensor) -> Tensor:
        total = None
        for step in self.steps:
            x = step(x)
            total = x if total is None else total + x
        return total


class DecoderBlock(nn.Module):
    """Upsample x2, concatenate the encoder skip (when `skip_ch` > 0), two conv-norm-ReLU."""

    def __init__(self, *, in_ch: int, skip_ch: int, out_ch: int, norm: str = "batch"):
        super().__init__()
        self.uses_skip = skip_ch > 0
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.convs = nn.Sequential(ConvNormAct(in_ch=in_ch + skip_ch, out_ch=out_ch, norm=norm),
                                   ConvNormAct(in_ch=out_ch, out_ch=out_ch, norm=norm))

    def forward(self, h: Tensor, skip: Tensor | None) -> Tensor:
        h = self.up(h)
        if self.uses_skip:
            h = torch.cat([h, skip], dim=1)
        return self.convs(h)


class Decoder(nn.Module):
    """Decoder blocks from the bottleneck up to full resolution, then a head conv + output act."""

    def __init__(self, *, widths: Sequence[int],     # bottleneck width, then one per block (deep to shallow)
                 skip_widths: Sequence[int],         # per block; 0 = that block takes no skip
                 out_ch: int, head_kernel: int, head_act: str, norm: str = "batch"):
        super().__init__()
        self.blocks = nn.ModuleList(DecoderBlock(in_ch=w_in, skip_ch=s, out_ch=w_out, norm=norm)
                                    for w_in, w_out, s in zip(widths, widths[1:], skip_widths))
        self.head = ConvNormAct(in_ch=widths[-1], out_ch=out_ch, kernel=head_kernel, norm="none", act=head_act)

    def forward(self, h: Tensor, skips: Sequence[Tensor]) -> Tensor:
        for block, skip in zip(self.blocks, skips):
            h = block(h, skip if block.uses_skip else None)
        return self.head(h)


class AttentionGenerator(nn.Module):
    """x (B, C, H, W) in [-1, 1] -> {"out": fused (B, C, H, W) in [-1, 1], "gen": raw generator
    output (B, C, H, W) in [-1, 1], "attn": mask (B, 1, H, W) in [0, 1]}.

    The identity path (gen_id_out, attn_id_out of the seed) is this same network applied to an
    image of the target domain; the training step does that.
    """
    data_kind = "images"  # what data it works on (training/data_kind.py)

    def __init__(self, *, channels: int = 3,
                 width: int = 32,                       # first encoder level; doubles per level
                 dilations: Sequence[int] = (1, 2, 4, 8),  # bottleneck chain, outputs summed
                 dropout: float = 0.1,                  # Dropout2d rate in the early encoder blocks
                 dropout_blocks: int = 1,               # how many early encoder blocks get dropout
                 norm: str = "batch"):                  # batch | instance
        super().__init__()
        if norm not in ("batch", "instance"):
            raise ConfigError(f"norm={norm!r}: choose batch or instance")
        if not 0 <= dropout_blocks <= LEVELS:
            raise ConfigError(f"dropout_blocks={dropout_blocks}: must be in 0..{LEVELS}")
        enc = [width * 2 ** i for i in range(LEVELS)]   # [w, 2w, 4w]
        self.encoder = nn.ModuleList(
            EncoderBlock(in_ch=c_in, out_ch=c_out, norm=norm, dropout=dropout if i < dropout_blocks else 0.0)
            for i, (c_in, c_out) in enumerate(zip([channels, *enc], enc)))
        self.bottleneck = DilatedBottleneck(in_ch=enc[-1], out_ch=2 * enc[-1], dilations=dilations, norm=norm)
        up = [2 * enc[-1], *reversed(enc)]               # [8w, 4w, 2w, w]
        skips = list(reversed(enc))                       # deepest first: [4w, 2w, w]
        self.attn_decoder = Decoder(widths=up, skip_widths=skips, out_ch=1, head_kernel=1,
                                    head_act="sigmoid", norm=norm)
        self.gen_decoder = Decoder(widths=up, skip_widths=[*skips[:-1], 0], out_ch=channels, head_kernel=3,
                                   head_act="tanh", norm=norm)
        # start from a half-open mask (sigmoid(0) = 0.5, small logits): a saturated initial mask
        # gives no gradient to whichever decoder it shuts out
        nn.init.normal_(self.mask_conv.weight, 0.0, 0.02)
        nn.init.zeros_(self.mask_conv.bias)

    @property
    def mask_conv(self) -> nn.Conv2d:
        """The attention decoder's last conv; its bias sets the initial mask level."""
        return self.attn_decoder.head.conv

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        check_divisible(x, 2 ** LEVELS, "AttentionGenerator")
        h, skips = x, []
        for block in self.encoder:
            h, skip = block(h)
            skips.append(skip)
        h = self.bottleneck(h)
        skips.reverse()
        attn = self.attn_decoder(h, skips)
        gen = self.gen_decoder(h, skips)
        return {"out": (1 - attn) * x + attn * gen, "gen": gen, "attn": attn}
