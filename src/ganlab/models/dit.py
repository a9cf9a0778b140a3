"""A small DiT (Peebles & Xie 2023, arXiv 2212.09748): the DDPM / flow denoiser as a transformer
instead of a U-Net. (x (B, C, H, W), t (B,) in [0, 1][, y (B,)]) -> (B, C, H, W) (2C with
learn_sigma; labels and learn_sigma as in models/denoisers.py: the label embedding joins the time's).

patchify (a stride-p conv: one token per p x p patch, plus a learned position embedding) ->
`depth` transformer blocks whose LayerNorms are modulated by the timestep (adaLN-Zero: scale,
shift and a residual gate per branch regressed from the time embedding, the gates and the final
layer zero-initialised so each block starts as the identity) -> a linear layer back to patches
-> unpatchify."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.models.denoisers import add_label, conditioning, time_embedding


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        nn.init.zeros_(self.ada[1].weight)  # adaLN-Zero: gates start at 0, the block is the identity
        nn.init.zeros_(self.ada[1].bias)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(c).chunk(6, dim=1)
        h = modulate(self.norm1(x), shift1, scale1)
        x = x + gate1[:, None] * self.attn(h, h, h, need_weights=False)[0]
        return x + gate2[:, None] * self.mlp(modulate(self.norm2(x), shift2, scale2))


class DiT(nn.Module):
    data_kind = "images"  # what data it works on (training/data_kind.py)
    def __init__(self, *, channels: int = 3, image_size: int = 32,
                 patch: int | None = None,  # patch side: (image_size / patch)^2 tokens; None: an 8 x 8 token grid
                 dim: int = 128,            # token width
                 depth: int = 4,            # transformer blocks
                 heads: int = 4,
                 mlp_ratio: float = 4.0,
                 num_classes: int = 0,      # > 0: conditional, a label embedding added to the time embedding
                 learn_sigma: bool = False):  # 2 * channels out: DDPM's learned variance too
        super().__init__()
        patch = patch or max(1, image_size // 8)  # 64 tokens at any size (bigger patches blur shapes: docs/BENCHMARKS.md)
        if image_size % patch:
            raise ConfigError(f"patch={patch}: must divide image_size={image_size}")
        if dim % heads:
            raise ConfigError(f"heads={heads}: must divide dim={dim}")
        self.channels, self.patch, self.grid = channels, patch, image_size // patch
        self.num_classes, self.learn_sigma = num_classes, bool(learn_sigma)
        self.out_channels = channels * (2 if learn_sigma else 1)
        self.embed = nn.Conv2d(channels, dim, patch, stride=patch)
        self.pos = nn.Parameter(torch.randn(1, self.grid ** 2, dim) * 0.02)
        self.t_dim = dim
        self.time = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.label = conditioning(num_classes, dim)
        self.blocks = nn.ModuleList(DiTBlock(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))
        self.head = nn.Linear(dim, patch * patch * self.out_channels)
        for layer in (self.ada[1], self.head):  # the output starts at 0 (adaLN-Zero)
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        b = x.shape[0]
        h = self.embed(x).flatten(2).transpose(1, 2) + self.pos        # (B, tokens, dim)
        c = add_label(self.time(time_embedding(t, self.t_dim).to(x.dtype)), self.label, y)
        for block in self.blocks:
            h = block(h, c)
        shift, scale = self.ada(c).chunk(2, dim=1)
        h = self.head(modulate(self.norm(h), shift, scale))             # (B, tokens, p * p * C)
        p, g = self.patch, self.grid
        h = h.view(b, g, g, p, p, self.out_channels).permute(0, 5, 1, 3, 2, 4)  # B, C, gy, py, gx, px
        return h.reshape(b, self.out_channels, g * p, g * p)
