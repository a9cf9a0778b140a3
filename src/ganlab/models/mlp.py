"""MLP GAN for the 2D mixtures (ring8, grid25): the mode-collapse benchmark of Metz et al. 2017,
VEEGAN, PacGAN — 3-4 fully connected layers of 128-400 units on both sides.

G: ReLU, linear output (the data is not bounded to [-1, 1]). D: LeakyReLU(0.2), raw logit.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.models.dcgan import (
    MinibatchStd,
    check_norm,
    check_unconditional,
    one_hot,
    pack_samples,
    spectral_norm_all,
)


def _check_depth(depth: int) -> int:
    if depth < 1:
        raise ConfigError(f"depth={depth}: need at least one hidden layer")
    return depth


class Generator(nn.Module):
    """z (B, z_dim) [, y (B,)] -> points (B, out_dim)."""
    data_kind = "points"  # what data it works on (training/data_kind.py)

    def __init__(self, *, z_dim: int = 2, hidden: int = 256,
                 depth: int = 3,            # hidden layers
                 out_dim: int = 2,
                 num_classes: int = 0,      # > 0: conditional, a one-hot y is concatenated to z
                 scale: float = 1.0):       # data scale: the net works in units of it (grid25: 4)
        super().__init__()
        self.z_dim, self.num_classes, self.scale = z_dim, num_classes, scale
        layers: list[nn.Module] = []
        d = z_dim + num_classes
        for _ in range(_check_depth(depth)):
            layers += [nn.Linear(d, hidden), nn.ReLU(True)]
            d = hidden
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.num_classes:
            z = torch.cat([z, one_hot(y, self.num_classes, z)], dim=1)
        else:
            check_unconditional(y)
        return self.scale * self.net(z)


class Discriminator(nn.Module):
    """points (B, in_dim) [, y (B,)] -> raw logits / critic values (B // pack,).

    pack = m (PacGAN): the features of m consecutive samples are concatenated, (B, 2) ->
    (B // m, 2m), and D gives ONE output per pack: the loss sees B / m outputs.
    norm: "none" (default), "layer" (LayerNorm after each hidden layer; per sample, so fine for
    WGAN-GP), "spectral" (spectral norm on every layer) or "batch" (couples samples: not with GP).
    """
    data_kind = "points"  # what data it works on (training/data_kind.py)

    def __init__(self, *, in_dim: int = 2, hidden: int = 256,
                 depth: int = 3,                # hidden layers
                 pack: int = 1,                 # PacGAN: samples judged together per output
                 minibatch_std: bool = False,   # ProGAN: batch-std feature before the last layer
                 num_classes: int = 0,          # > 0: conditional, one-hot y joins each sample
                 norm: str = "none",            # none | layer | spectral | batch
                 scale: float = 1.0):           # data scale: inputs are divided by it
        super().__init__()
        self.scale = scale
        if pack < 1:
            raise ConfigError(f"pack={pack}: must be >= 1")
        self.num_classes, self.pack = num_classes, pack
        check_norm(norm)
        layers: list[nn.Module] = []
        d = (in_dim + num_classes) * pack
        for _ in range(_check_depth(depth)):
            layers.append(nn.Linear(d, hidden))
            if norm == "layer":
                layers.append(nn.LayerNorm(hidden))
            elif norm == "batch":
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.LeakyReLU(0.2, True))
            d = hidden
        self.features = nn.Sequential(*layers)
        self.mbstd = MinibatchStd() if minibatch_std else nn.Identity()
        self.head = nn.Linear(hidden + int(minibatch_std), 1)
        if norm == "spectral":
            spectral_norm_all(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        x = x.flatten(1) / self.scale
        if self.num_classes:
            x = torch.cat([x, one_hot(y, self.num_classes, x)], dim=1)
        else:
            check_unconditional(y)
        return self.head(self.mbstd(self.features(pack_samples(x, self.pack)))).squeeze(1)
