"""BigGAN, small (Brock et al. 2019; seed 004): a class-conditional residual G and a projection D.

G: z is split into one chunk per level (hierarchical z): the first chunk goes through a linear
layer to the 4x4 map, every residual up-block gets [shared class embedding, its own z chunk] as
the condition of its BatchNorms (conditional BN: gain and bias are linear maps of it).
D: residual down-blocks, ReLU, a sum over space to h, then linear(h) + <embed(y), h> (the
projection discriminator, Miyato & Koyama 2018). Spectral norm on every layer of both, orthogonal
init, an optional SAGAN self-attention block at `attention_res` (0: none). The orthogonal
regulariser of G's weights is algorithms/regularisers.orthogonal (model.algorithm.ortho_reg).

Widths: G's 4x4 map has width * 2^n channels (n = log2(image_size) - 2 up-blocks), halved by
every block; D mirrors it. Only class-conditional: data.num_classes must be > 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.models.dcgan import num_doublings, spectral_norm_all


def check_classes(num_classes: int) -> int:
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"model=biggan is class-conditional but data.num_classes={num_classes!r}: use data with "
                          f"labels (data=shapes, data=mnist) or set data.num_classes to the number of classes")
    return num_classes


def check_attention(attention_res: int, image_size: int) -> int:
    sizes = [2 ** i for i in range(3, image_size.bit_length())]  # 8 .. image_size
    if attention_res != 0 and attention_res not in sizes:
        raise ConfigError(f"model.attention_res={attention_res!r}: 0 (no attention) or one of "
                          f"{', '.join(map(str, sizes))} (a resolution of data.image_size={image_size})")
    return attention_res


def orthogonal_init(module: nn.Module) -> nn.Module:
    """BigGAN's init: orthogonal weights for every conv, linear and embedding, zero biases.
    Before spectral norm is registered (its power iteration starts from these weights)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            nn.init.orthogonal_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
    return module


def check_labels(y: Tensor | None, num_classes: int) -> Tensor:
    if y is None:
        raise ValueError(f"BigGAN network (num_classes={num_classes}) called without y")
    return y.long()


class SelfAttention(nn.Module):
    """SAGAN's self-attention (Zhang et al. 2019): every position attends to a 2x2-max-pooled map
    of keys/values; the result is added back scaled by a learned gamma that starts at 0, so the
    block is the identity at initialisation and attention is blended in as it helps."""

    def __init__(self, ch: int):
        super().__init__()
        k = max(1, ch // 8)
        self.query, self.key = nn.Conv2d(ch, k, 1, bias=False), nn.Conv2d(ch, k, 1, bias=False)
        self.value = nn.Conv2d(ch, max(1, ch // 2), 1, bias=False)
        self.out = nn.Conv2d(max(1, ch // 2), ch, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2)                          # (B, k, HW)
        k = F.max_pool2d(self.key(x), 2).flatten(2)           # (B, k, HW/4)
        v = F.max_pool2d(self.value(x), 2).flatten(2)         # (B, c/2, HW/4)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)   # (B, HW, HW/4)
        o = (v @ attn.transpose(1, 2)).view(b, -1, h, w)
        return x + self.gamma * self.out(o)


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine; gain 1 + linear(cond) and bias linear(cond) per sample."""

    def __init__(self, ch: int, cond_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(ch, affine=False)
        self.gain, self.bias = nn.Linear(cond_dim, ch, bias=False), nn.Linear(cond_dim, ch, bias=False)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        return self.bn(x) * (1 + self.gain(cond))[:, :, None, None] + self.bias(cond)[:, :, None, None]


class GBlock(nn.Module):
    """cBN, ReLU, x2 nearest upsampling, conv3, cBN, ReLU, conv3; shortcut: upsample, conv1."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int):
        super().__init__()
        self.bn1, self.bn2 = ConditionalBatchNorm(in_ch, cond_dim), ConditionalBatchNorm(out_ch, cond_dim)
        self.conv1, self.conv2 = nn.Conv2d(in_ch, out_ch, 3, 1, 1), nn.Conv2d(out_ch, out_ch, 3, 1, 1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x, cond)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), cond)))
        return h + self.skip(F.interpolate(x, scale_factor=2))


class DBlock(nn.Module):
    """[ReLU,] conv3, ReLU, conv3 [, 2x2 avg-pool]; shortcut: conv1 [, avg-pool]. The first block
    sees the image itself: no ReLU before it."""

    def __init__(self, in_ch: int, out_ch: int, *, down: bool, preactivation: bool):
        super().__init__()
        self.down, self.preactivation = down, preactivation
        self.conv1, self.conv2 = nn.Conv2d(in_ch, out_ch, 3, 1, 1), nn.Conv2d(out_ch, out_ch, 3, 1, 1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch or down else None

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        s = x if self.skip is None else self.skip(x)
        if self.down:
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        return h + s


def _z_chunks(z_dim: int, n: int) -> list[int]:
    """z split into n chunks as equal as possible (the first ones take the remainder)."""
    if z_dim < n:
        raise ConfigError(f"model.z_dim={z_dim}: BigGAN splits z into {n} chunks (one per level); use >= {n}")
    return [z_dim // n + (i < z_dim % n) for i in range(n)]


class Generator(nn.Module):
    """z (B, z_dim), y (B,) -> images (B, channels, image_size, image_size) in [-1, 1]."""
    data_kind = "images"
    check_image_size = staticmethod(num_doublings)

    def __init__(self, *, z_dim: int = 120, image_size: int = 32, channels: int = 3, width: int = 32,
                 num_classes: int = 0,
                 embed_dim: int = 32,       # the shared class embedding, read by every block's cBN
                 attention_res: int = 16):  # self-attention after the block reaching it; 0 = none
        super().__init__()
        self.z_dim, self.image_size, self.num_classes = z_dim, image_size, check_classes(num_classes)
        n = num_doublings(image_size)
        check_attention(attention_res, image_size)
        self.chunks = _z_chunks(z_dim, n + 1)
        widths = [width * 2 ** (n - i) for i in range(n + 1)]
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.linear = nn.Linear(self.chunks[0], widths[0] * 16)
        self.blocks = nn.ModuleList(GBlock(a, b, embed_dim + c) for a, b, c in zip(widths, widths[1:], self.chunks[1:]))
        self.attention = nn.ModuleDict({str(4 * 2 ** (i + 1)): SelfAttention(widths[i + 1])
                                        for i in range(n) if 4 * 2 ** (i + 1) == attention_res})
        self.out = nn.Sequential(nn.BatchNorm2d(widths[-1]), nn.ReLU(), nn.Conv2d(widths[-1], channels, 3, 1, 1),
                                 nn.Tanh())
        spectral_norm_all(orthogonal_init(self))

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        zs = torch.split(z.flatten(1), self.chunks, dim=1)
        e = self.embed(check_labels(y, self.num_classes).to(z.device))
        h = self.linear(zs[0]).view(z.shape[0], -1, 4, 4)
        for block, zc in zip(self.blocks, zs[1:]):
            h = block(h, torch.cat([e, zc], dim=1))
            key = str(h.shape[-1])
            if key in self.attention:
                h = self.attention[key](h)
        return self.out(h)


class Discriminator(nn.Module):
    """images (B, channels, S, S), y (B,) -> raw scores (B,): linear(h) + <embed(y), h>."""
    data_kind = "images"
    check_image_size = staticmethod(num_doublings)

    def __init__(self, *, image_size: int = 32, channels: int = 3, width: int = 32, num_classes: int = 0,
                 attention_res: int = 16):  # after the block whose output has this resolution; 0 = none
        super().__init__()
        self.image_size, self.num_classes = image_size, check_classes(num_classes)
        n = num_doublings(image_size)
        check_attention(attention_res, image_size)
        widths = [channels] + [width * 2 ** (i + 1) for i in range(n)]
        blocks: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths, widths[1:])):
            blocks.append(DBlock(a, b, down=True, preactivation=i > 0))
            if image_size // 2 ** (i + 1) == attention_res:
                blocks.append(SelfAttention(b))
        blocks.append(DBlock(widths[-1], widths[-1], down=False, preactivation=True))  # at 4x4, as BigGAN
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(widths[-1], 1)
        self.embed = nn.Embedding(num_classes, widths[-1])
        orthogonal_init(self)
        spectral_norm_all(self)
        nn.utils.parametrizations.spectral_norm(self.embed)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            raise ConfigError(f"D built for {self.image_size}x{self.image_size} images, got {tuple(x.shape)}")
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        proj = (self.embed(check_labels(y, self.num_classes).to(x.device)) * h).sum(1)
        return self.linear(h).flatten() + proj
