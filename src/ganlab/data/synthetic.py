"""Embedded datasets, generated from (seed, index) alone: any size, no files.

- Shapes: small labelled images, classes = shape x colour (DCGAN, conditional GAN).
- Mixture2D: ring8 / grid25, the 2D gaussian mixtures of the mode-collapse literature.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.utils.data import Dataset

SHAPES = ("circle", "square", "triangle", "cross")
COLOURS = torch.tensor([[0.95, 0.25, 0.2], [0.25, 0.85, 0.3], [0.25, 0.45, 0.95]])


def sample_generator(seed: int, index: int, salt: int = 0) -> torch.Generator:
    """A private RNG for one sample: generation never touches global random state."""
    return torch.Generator().manual_seed((seed * 1_000_003 + index * 7919 + salt) % (2**63 - 1))


class Shapes(Dataset):
    """A shape (circle, square, triangle, cross) in a colour (red, green, blue) on a dark noisy
    background, with random position and size. Label = shape * 3 + colour (12 classes)."""

    num_classes = len(SHAPES) * len(COLOURS)

    def __init__(self, *, size: int = 4096, image_size: int = 32, channels: int = 3, seed: int = 0):
        if channels not in (1, 3):
            raise ValueError(f"data.channels={channels}: shapes supports 1 or 3")
        self.size, self.s, self.channels, self.seed = size, image_size, channels, seed
        c = (torch.arange(image_size) + 0.5) / image_size * 2 - 1
        self.yy, self.xx = torch.meshgrid(c, c, indexing="ij")

    def __len__(self) -> int:
        return self.size

    def _mask(self, shape: str, cx: float, cy: float, r: float, soft: float) -> Tensor:
        x, y = self.xx - cx, self.yy - cy
        if shape == "circle":
            d = (x**2 + y**2).sqrt() - r
        elif shape == "square":
            d = torch.maximum(x.abs(), y.abs()) - r * 0.85
        elif shape == "triangle":  # pointing up: three half-planes
            d = torch.maximum(torch.maximum(y - r * 0.7, -0.866 * x - 0.5 * y - r * 0.5),
                              0.866 * x - 0.5 * y - r * 0.5)
        else:  # cross
            d = torch.minimum(torch.maximum(x.abs() - r * 0.3, y.abs() - r),
                              torch.maximum(y.abs() - r * 0.3, x.abs() - r))
        return torch.sigmoid(-d / soft)  # antialiased edge, about one pixel wide

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        g = sample_generator(self.seed, i)
        label = int(torch.randint(0, self.num_classes, (1,), generator=g))
        shape, colour = SHAPES[label // len(COLOURS)], COLOURS[label % len(COLOURS)]
        u = torch.rand(4, generator=g)
        r = 0.35 + 0.25 * float(u[0])
        cx, cy = (float(u[1]) * 2 - 1) * (0.9 - r), (float(u[2]) * 2 - 1) * (0.9 - r)
        m = self._mask(shape, cx, cy, r, soft=1.0 / self.s)
        bg = 0.08 + 0.04 * torch.rand(3, 1, 1, generator=g)
        tint = colour * (0.85 + 0.15 * float(u[3]))
        img = bg * (1 - m) + tint.view(3, 1, 1) * m
        if self.channels == 1:
            img = img.mean(0, keepdim=True)
        return {"x": img * 2 - 1, "y": torch.tensor(label)}


class Mixture2D(Dataset):
    """ring8: 8 gaussians at (cos 2 pi i/8, sin 2 pi i/8), std 0.01; grid25: 25 gaussians at
    {-4,-2,0,2,4}^2, std 0.05 (VEEGAN / PacGAN)."""

    def __init__(self, *, modes: str = "ring8", size: int = 100_000, seed: int = 0):
        if modes == "ring8":
            a = torch.arange(8) * 2 * math.pi / 8
            self.centers, self.std = torch.stack([a.cos(), a.sin()], 1), 0.01
        elif modes == "grid25":
            v = torch.arange(-4.0, 5.0, 2.0)
            self.centers, self.std = torch.cartesian_prod(v, v), 0.05
        else:
            raise ValueError(f"modes={modes!r}: choose ring8 or grid25")
        self.size, self.seed = size, seed
        # vectorised draw of the whole set from its own generator: deterministic from seed
        g = torch.Generator().manual_seed(seed)
        k = torch.randint(0, len(self.centers), (size,), generator=g)
        self.points = self.centers[k] + self.std * torch.randn(size, 2, generator=g)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"x": self.points[i], "y": torch.tensor(0)}

    def as_tensors(self) -> dict[str, Tensor]:
        """The whole set at once (the loader's in-memory fast path)."""
        return {"x": self.points, "y": torch.zeros(self.size, dtype=torch.long)}
