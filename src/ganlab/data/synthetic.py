"""Embedded datasets, generated from (seed, index) alone: any size, no files.

- Shapes: small labelled images, classes = shape x colour (DCGAN, conditional GAN).
- Mixture2D: ring8 / grid25, the 2D gaussian mixtures of the mode-collapse literature.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.seeding import hash_uniforms, sample_generator
from ganlab.errors import ConfigError

SHAPES = ("circle", "square", "triangle", "cross")
COLOURS = ("red", "green", "blue")
RGB = torch.tensor([[0.95, 0.25, 0.2], [0.25, 0.85, 0.3], [0.25, 0.45, 0.95]])


def class_name(label: int) -> str:
    return f"{COLOURS[label % len(COLOURS)]} {SHAPES[label // len(COLOURS)]}"


class Shapes(Dataset):
    """A shape (circle, square, triangle, cross) in a colour (red, green, blue) on a dark
    background, with random position, size and tint. Label = shape * 3 + colour (12 classes),
    assigned round-robin by index so the classes are exactly balanced."""
    data_kind = "images"  # what data it works on (training/data_kind.py)

    num_classes = len(SHAPES) * len(COLOURS)

    def __init__(self, *, size: int = 4096, image_size: int = 32, channels: int = 3, seed: int = 0):
        if channels not in (1, 3):
            raise ConfigError(f"data.channels={channels}: shapes supports 1 or 3")
        self.size, self.image_size, self.channels, self.seed = size, image_size, channels, seed
        c = (torch.arange(image_size) + 0.5) / image_size * 2 - 1  # pixel centres in [-1, 1]
        self.yy, self.xx = torch.meshgrid(c, c, indexing="ij")

    def __len__(self) -> int:
        return self.size

    def distance(self, shape: str, cx: float, cy: float, r: float) -> Tensor:
        """(S, S) signed distance to the shape's outline (< 0 inside), in [-1, 1] image units."""
        x, y = self.xx - cx, self.yy - cy
        if shape == "circle":
            d = (x**2 + y**2).sqrt() - r
        elif shape == "square":
            d = torch.maximum(x.abs(), y.abs()) - r * 0.8
        elif shape == "triangle":  # pointing up: intersection of three half-planes
            d = torch.maximum(torch.maximum(y - r * 0.7, -0.866 * x - 0.5 * y - r * 0.5),
                              0.866 * x - 0.5 * y - r * 0.5)
        else:  # cross: union of two bars
            d = torch.minimum(torch.maximum(x.abs() - r * 0.3, y.abs() - r),
                              torch.maximum(y.abs() - r * 0.3, x.abs() - r))
        return d

    def coverage(self, d: Tensor) -> Tensor:
        """Soft inside-ness from a signed distance: an antialiased edge about one pixel wide."""
        return torch.sigmoid(-d * (self.image_size / 1.5))

    def paint(self, m: Tensor, colour: Tensor, bg: float) -> Tensor:
        """An image in [-1, 1] of coverage `m` (S, S) in `colour` (3,) on a grey background `bg`."""
        img = bg + (colour.view(3, 1, 1) - bg) * m
        if self.channels == 1:
            img = img.mean(0, keepdim=True)
        return img * 2 - 1

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        if not 0 <= i < self.size:
            raise IndexError(f"index {i} out of range for {self.size} samples")
        label = i % self.num_classes
        u = torch.rand(6, generator=sample_generator(self.seed, i)).tolist()
        r = 0.35 + 0.25 * u[0]
        cx, cy = (u[1] * 2 - 1) * (0.9 - r), (u[2] * 2 - 1) * (0.9 - r)
        m = self.coverage(self.distance(SHAPES[label // len(COLOURS)], cx, cy, r))
        tint = RGB[label % len(COLOURS)] * (0.8 + 0.2 * u[3])
        bg = 0.06 + 0.06 * u[4]  # dark grey, a little variation
        return {"x": self.paint(m, tint, bg), "y": torch.tensor(label)}


class Mixture2D(Dataset):
    """ring8: 8 gaussians at (cos 2 pi i/8, sin 2 pi i/8), std 0.01; grid25: 25 gaussians at
    {-4,-2,0,2,4}^2, std 0.05 (VEEGAN / PacGAN). `centers` (K, 2) and `std` feed the mode metrics."""
    data_kind = "points"  # what data it works on (training/data_kind.py)

    STD = {"ring8": 0.01, "grid25": 0.05}

    def __init__(self, *, modes: str = "ring8", size: int = 100_000, seed: int = 0, std: float | None = None):
        if modes == "ring8":
            a = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
            self.centers = torch.stack([a.cos(), a.sin()], 1).float()
        elif modes == "grid25":
            v = torch.arange(-4.0, 5.0, 2.0)
            self.centers = torch.cartesian_prod(v, v)
        else:
            raise ConfigError(f"data.modes={modes!r}: choose ring8 or grid25")
        self.modes, self.size, self.seed = modes, size, seed
        self.std = float(self.STD[modes] if std is None else std)
        self.points, self.mode_ids = self._draw(np.arange(size))

    def _draw(self, index: np.ndarray) -> tuple[Tensor, Tensor]:
        u = hash_uniforms(self.seed, index, 3)
        k = np.minimum((u[:, 0] * len(self.centers)).astype(np.int64), len(self.centers) - 1)
        # Box-Muller: two independent standard normals from two uniforms (1 - u avoids log 0)
        rad = np.sqrt(-2.0 * np.log1p(-u[:, 1]))
        z = np.stack([rad * np.cos(2 * np.pi * u[:, 2]), rad * np.sin(2 * np.pi * u[:, 2])], 1)
        k = torch.from_numpy(k)
        return self.centers[k] + self.std * torch.from_numpy(z).float(), k

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"x": self.points[i], "y": torch.tensor(0)}

    def as_tensors(self) -> dict[str, Tensor]:
        """The whole set at once (the loader's in-memory fast path)."""
        return {"x": self.points, "y": torch.zeros(self.size, dtype=torch.long)}
