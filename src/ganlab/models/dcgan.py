"""DCGAN (Radford et al. 2016) as in the course notes: no pooling, D roughly the mirror of G,
BatchNorm + ReLU in G, LeakyReLU(0.2) in D, tanh output. Size-parametric (any power of two >= 16).

Conditional GAN: with `num_classes > 0`, the one-hot class goes to both networks — concatenated
to z in G, broadcast to (num_classes, H, W) maps and concatenated to the image channels in D.

Also here, shared with the MLP discriminator: PacGAN packing and the minibatch-std feature.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.models.init import apply_init

NORMS = ("batch", "none", "layer", "spectral")


# -- pieces shared by the discriminators ------------------------------------------------------
def num_doublings(image_size: int) -> int:
    """How many x2 steps lead from the 4x4 base map to `image_size`."""
    if not isinstance(image_size, int) or image_size < 16 or image_size & (image_size - 1):
        raise ConfigError(f"image_size={image_size!r}: must be a power of two >= 16 (16, 32, 64, 128, ...): "
                          f"set data.image_size")
    return image_size.bit_length() - 3


def check_norm(norm: str) -> str:
    if norm not in NORMS:
        raise ConfigError(f"norm={norm!r}: choose one of {', '.join(NORMS)}")
    return norm


def one_hot(y: Tensor | None, num_classes: int, like: Tensor) -> Tensor:
    """(B, num_classes) one-hot codes of `y`, in `like`'s dtype and device."""
    if y is None:
        raise ValueError(f"conditional network (num_classes={num_classes}) called without y")
    return F.one_hot(y.long().to(like.device), num_classes).to(like.dtype)


def check_unconditional(y: Tensor | None) -> None:
    # a label handed to an unconditional network would be silently dropped: refuse instead
    if y is not None:
        raise ValueError("unconditional network (num_classes=0) called with y")


def pack_samples(x: Tensor, pack: int) -> Tensor:
    """PacGAN (Lin et al. 2018): consecutive groups of `pack` samples become one sample, stacked
    along dim 1: (B, F, ...) -> (B // pack, pack * F, ...)."""
    if x.shape[0] % pack:
        raise ConfigError(f"batch of {x.shape[0]} samples is not divisible by pack={pack}")
    return x.reshape(x.shape[0] // pack, pack * x.shape[1], *x.shape[2:])


class MinibatchStd(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018, ProGAN): appends one feature (channel)
    holding the std over the batch of every feature/pixel, averaged to one number. D can then see
    a lack of variety in a batch — a collapsed G gives a std near 0."""

    def forward(self, h: Tensor) -> Tensor:
        std = (h.float().var(0, unbiased=False) + 1e-8).sqrt().mean().to(h.dtype)
        return torch.cat([h, std.expand(h.shape[0], 1, *h.shape[2:])], dim=1)


def spectral_norm_all(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every conv and linear layer."""
    layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for m in layers:
        nn.utils.parametrizations.spectral_norm(m)
    return module


def _norm2d(norm: str, ch: int) -> list[nn.Module]:
    if norm == "batch":
        return [nn.BatchNorm2d(ch)]
    if norm == "layer":  # layer norm over (C, H, W), per-channel affine; per sample, as GP needs
        return [nn.GroupNorm(1, ch)]
    return []


# -- the networks ---------------------------------------------------------------------------------
class Generator(nn.Module):
    """z (B, z_dim) [, y (B,)] -> images (B, channels, image_size, image_size) in [-1, 1].

    A stride-1 transposed conv projects z to a 4x4 map of width * 2^(n-1) channels, then n - 1
    stride-2 transposed convs halve the width as they double the resolution, and a last one maps
    to `channels` (n = log2(image_size) - 2; at 64: 512-256-128-64 channels for width=64).
    """
    data_kind = "images"  # what data it works on (training/data_kind.py)
    check_image_size = staticmethod(num_doublings)  # run before any data is built

    def __init__(self, *, z_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 64,
                 num_classes: int = 0,      # > 0: conditional, a one-hot y is concatenated to z
                 init: str = "dcgan"):      # "dcgan": N(0, 0.02) weights; "default": PyTorch's
        super().__init__()
        self.z_dim, self.image_size, self.num_classes = z_dim, image_size, num_classes
        n = num_doublings(image_size)
        widths = [width * 2 ** i for i in reversed(range(n))]
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim + num_classes, widths[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out),
                       nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        apply_init(self, init)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        z = z.flatten(1)
        if self.num_classes:
            z = torch.cat([z, one_hot(y, self.num_classes, z)], dim=1)
        else:
            check_unconditional(y)
        return self.net(z[:, :, None, None])


class Discriminator(nn.Module):
    """images (B, channels, S, S) [, y (B,)] -> raw logits / critic values (B // pack,).

    The mirror of G: n stride-2 convs doubling the width (no norm on the first), LeakyReLU(0.2),
    then a 4x4 valid conv from the 4x4 map to one logit. No sigmoid: the loss owns it.

    norm: "batch" (DCGAN), "none", "layer" (GroupNorm(1, C): layer norm over C, H, W) or
    "spectral" (spectral norm on every conv, no norm layer). Use "none" or "layer" for WGAN-GP:
    batch norm mixes the samples of a batch, so D(x_hat_i) depends on the other interpolates and
    the per-sample gradient penalty no longer constrains a per-sample function.

    pack = m (PacGAN): D judges m samples at once and gives ONE output per pack, so the loss sees
    B / m outputs (B must be divisible by m). Samples are packed in batch order; conditional
    inputs are packed with their class maps.

    conditioning (num_classes > 0): "concat" (one-hot class maps joined to the image channels) or
    "projection" (Miyato & Koyama 2018: logit + <embed(y), sum over space of the last features>).
    """
    data_kind = "images"  # what data it works on (training/data_kind.py)
    check_image_size = staticmethod(num_doublings)  # run before any data is built

    def __init__(self, *, image_size: int = 64, channels: int = 3, width: int = 64,
                 num_classes: int = 0,          # > 0: conditional, one-hot y maps join the input
                 norm: str = "batch",           # batch | none | layer | spectral (see above)
                 pack: int = 1,                 # PacGAN: samples judged together per output
                 minibatch_std: bool = False,   # ProGAN: batch-std feature map before the last conv
                 conditioning: str = "concat",  # concat | projection (see above)
                 init: str = "dcgan"):          # "dcgan": N(0, 0.02) weights; "default": PyTorch's
        super().__init__()
        if pack < 1:
            raise ConfigError(f"pack={pack}: must be >= 1")
        if conditioning not in ("concat", "projection"):
            raise ConfigError(f"model.discriminator.conditioning={conditioning!r}: must be concat or projection")
        if conditioning == "projection" and pack > 1:
            raise ConfigError("model.discriminator.conditioning=projection with pack > 1: a pack has no one class")
        self.image_size, self.num_classes, self.pack = image_size, num_classes, pack
        self.project = bool(num_classes) and conditioning == "projection"
        n = num_doublings(image_size)
        widths = [width * 2 ** i for i in range(n)]
        normed = check_norm(norm) in ("batch", "layer")  # a norm layer's shift makes the bias redundant
        in_maps = 0 if self.project else num_classes
        layers: list[nn.Module] = [nn.Conv2d((channels + in_maps) * pack, widths[0], 4, 2, 1),
                                   nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=not normed), *_norm2d(norm, w_out),
                       nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)
        self.mbstd = MinibatchStd() if minibatch_std else nn.Identity()
        self.head = nn.Conv2d(widths[-1] + int(minibatch_std), 1, 4, 1, 0)
        self.embed = nn.Embedding(num_classes, widths[-1] + int(minibatch_std)) if self.project else None
        apply_init(self, init)
        if self.embed is not None and init == "dcgan":
            nn.init.normal_(self.embed.weight, 0.0, 0.02)  # as small as the head's weights
        if norm == "spectral":
            spectral_norm_all(self)
            if self.embed is not None:
                nn.utils.parametrizations.spectral_norm(self.embed)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            raise ConfigError(f"D built for {self.image_size}x{self.image_size} images, got {tuple(x.shape)}")
        if self.num_classes and not self.project:
            maps = one_hot(y, self.num_classes, x)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
            x = torch.cat([x, maps], dim=1)
        elif not self.num_classes:
            check_unconditional(y)
        h = self.mbstd(self.features(pack_samples(x, self.pack)))
        if self.project:
            one_hot(y, self.num_classes, x)  # the same check of y as concat's
            return self.head(h).flatten() + (self.embed(y.long().to(h.device)) * h.sum((2, 3))).sum(1)
        return self.head(h).flatten()
