"""Time-conditioned networks for the non-GAN baselines: f(x, t) -> a tensor shaped like x (a
flow-matching velocity, a DDPM noise prediction). t is a float in [0, 1] per sample.

TimeMLP: 2D points (ring8, grid25). UNet: images, a small DDPM-style U-Net (residual blocks with
GroupNorm and a per-block scale/shift from the time embedding, no attention: CPU-sized).
The DiT alternative is models/dit.py.

Options the algorithms set (conf/model/denoiser/*.yaml take them from model.*):
- `num_classes` > 0: class-conditional, f(x, t, y); a learned label embedding is added to the time
  embedding, with one more row, index num_classes, for "no label" (classifier-free guidance
  trains it by dropping labels, algorithms/baseline.py). y None means that null label.
- `learn_sigma`: 2x the channels out, the second half DDPM's variance interpolation
  (Nichol & Dhariwal 2021, algorithms/diffusion.py).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganlab.errors import ConfigError


def time_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoidal features of t in [0, 1] (scaled by 1000, Transformer / DDPM style): (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = 1000.0 * t.float()[:, None] * freqs[None]
    return torch.cat([args.cos(), args.sin()], dim=1)


class LabelEmbedding(nn.Module):
    """y (B,) -> (B, dim): num_classes learned rows plus the null label's (index num_classes)."""

    def __init__(self, num_classes: int, dim: int):
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ConfigError(f"num_classes={num_classes!r}: must be an integer >= 1 (0: no LabelEmbedding)")
        self.num_classes = num_classes
        self.table = nn.Embedding(num_classes + 1, dim)

    def forward(self, y: Tensor | None, like: Tensor) -> Tensor:
        if y is None:
            y = torch.full((like.shape[0],), self.num_classes, dtype=torch.long)
        return self.table(y.long().to(like.device)).to(like.dtype)


def conditioning(num_classes: int, dim: int) -> LabelEmbedding | None:
    """The label embedding of a conditional denoiser, None for an unconditional one."""
    if not isinstance(num_classes, int) or num_classes < 0:
        raise ConfigError(f"num_classes={num_classes!r}: must be an integer >= 0 (0: unconditional)")
    return LabelEmbedding(num_classes, dim) if num_classes else None


def add_label(emb: Tensor, label: LabelEmbedding | None, y: Tensor | None) -> Tensor:
    """The time embedding plus the label's; an unconditional network given labels is a caller's bug."""
    if label is None:
        if y is not None:
            raise ValueError("unconditional denoiser (num_classes=0) called with y")
        return emb
    return emb + label(y, emb)


class TimeMLP(nn.Module):
    """(x (B, dim), t (B,)) -> (B, dim): an MLP over x and sinusoidal features of t."""
    data_kind = "points"  # what data it works on (training/data_kind.py)

    def __init__(self, *, dim: int = 2, hidden: int = 256,
                 depth: int = 4,          # hidden layers
                 t_dim: int = 64,         # sinusoidal time features
                 num_classes: int = 0,    # > 0: conditional, a label embedding added to t's features
                 learn_sigma: bool = False):  # 2 * dim outputs: DDPM's learned variance too
        super().__init__()
        if depth < 1:
            raise ConfigError(f"depth={depth}: need at least one hidden layer")
        self.t_dim, self.num_classes, self.learn_sigma = t_dim, num_classes, bool(learn_sigma)
        self.label = conditioning(num_classes, t_dim)
        layers: list[nn.Module] = []
        d = dim + t_dim
        for _ in range(depth):
            layers += [nn.Linear(d, hidden), nn.SiLU()]
            d = hidden
        layers.append(nn.Linear(d, dim * (2 if learn_sigma else 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        emb = add_label(time_embedding(t, self.t_dim).to(x.dtype), self.label, y)
        return self.net(torch.cat([x, emb], dim=1))


def _groups(ch: int) -> int:
    return math.gcd(ch, 8)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, the time embedding as a scale and shift after the second norm."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(_groups(in_ch), in_ch), nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * out_ch)
        self.norm2, self.conv2 = nn.GroupNorm(_groups(out_ch), out_ch), nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity: stable early training
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(nn.functional.silu(h))


class UNet(nn.Module):
    """(x (B, C, H, W), t (B,)[, y (B,)]) -> (B, C or 2C, H, W). Levels of `width * mult` channels, halving the
    resolution between levels; one residual block per level on the way down and up, skips
    concatenated. H and W must divide by 2 ** (levels - 1)."""
    data_kind = "images"  # what data it works on (training/data_kind.py)

    def __init__(self, *, channels: int = 3, width: int = 32,
                 mults: tuple[int, ...] = (1, 2, 2),   # channel multiplier per resolution level
                 image_size: int = 32,
                 num_classes: int = 0,     # > 0: conditional, a label embedding added to the time embedding
                 learn_sigma: bool = False):  # 2 * channels out: DDPM's learned variance too
        super().__init__()
        mults = tuple(mults)
        if not mults or image_size % 2 ** (len(mults) - 1):
            raise ConfigError(f"mults={list(mults)}: image_size {image_size} must divide by 2^(levels - 1)")
        emb = 4 * width
        self.width, self.num_classes, self.learn_sigma = width, num_classes, bool(learn_sigma)
        self.time = nn.Sequential(nn.Linear(width, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label = conditioning(num_classes, emb)
        self.inp = nn.Conv2d(channels, width, 3, padding=1)
        chs = [width * m for m in mults]
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        c = width
        for i, ch in enumerate(chs):
            self.down.append(ResBlock(c, ch, emb))
            self.pool.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1) if i < len(chs) - 1 else nn.Identity())
            c = ch
        self.mid = ResBlock(c, c, emb)
        self.up = nn.ModuleList()
        self.unpool = nn.ModuleList()
        for i, ch in reversed(list(enumerate(chs))):
            self.up.append(ResBlock(c + ch, ch, emb))
            self.unpool.append(nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(ch, ch, 3, padding=1))
                               if i > 0 else nn.Identity())
            c = ch
        self.out = nn.Sequential(nn.GroupNorm(_groups(c), c), nn.SiLU(), nn.Conv2d(c, channels * (2 if learn_sigma else 1), 3,
                                                                                  padding=1))

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        emb = add_label(self.time(time_embedding(t, self.width).to(x.dtype)), self.label, y)
        h = self.inp(x)
        skips = []
        for block, pool in zip(self.down, self.pool):
            h = block(h, emb)
            skips.append(h)
            h = pool(h)
        h = self.mid(h, emb)
        for block, unpool in zip(self.up, self.unpool):
            h = unpool(block(torch.cat([h, skips.pop()], dim=1), emb))
        return self.out(h)
