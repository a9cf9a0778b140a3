"""toyzebra: unpaired "horse -> zebra" with ground truth, generated from (seed, split, index).

Domain A: a brownish, colour-jittered, ellipse-like blob (random position, size, rotation) on a
smooth two-tone background (sky-to-grass gradient + low-frequency noise). Domain B: the same
family of shapes filled with black/white stripes of random angle and period. Every image comes
with its true object mask, so a translation model can be scored (metrics/masks.py): attention
IoU, background preservation, stripedness.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.seeding import mix_seed, sample_generator
from ganlab.errors import ConfigError

SPLITS = {"train": 0, "test": 1}
SKY, GRASS = torch.tensor([0.45, 0.65, 0.9]), torch.tensor([0.3, 0.6, 0.25])
BROWN = torch.tensor([0.55, 0.35, 0.18])


class ToyZebra(Dataset):
    """Sample i: {"A", "B"} in [-1, 1] (3, H, W) and their masks {"mask_A", "mask_B"} (1, H, W) in
    {0, 1}. A is image i of domain A; B is image perm[i] of domain B (a seeded permutation), so the
    pairs are not aligned. Objects cover roughly 10-35% of the image."""
    data_kind = "unpaired"  # what data it works on (training/data_kind.py)

    def __init__(self, *, size: int = 2048, image_size: int = 32, seed: int = 0, split: str = "train"):
        if split not in SPLITS:
            raise ConfigError(f"split={split!r}: choose train or test")
        self.size, self.image_size, self.seed, self.split = size, image_size, seed, split
        c = (torch.arange(image_size) + 0.5) / image_size * 2 - 1  # pixel centres in [-1, 1]
        self.yy, self.xx = torch.meshgrid(c, c, indexing="ij")
        g = torch.Generator().manual_seed(mix_seed(seed, SPLITS[split], 0xB))
        self.perm_b = torch.randperm(size, generator=g)
        # bicubic upsampling 4 -> image_size as a fixed (S, 4) matrix: noise = U @ coarse @ U^T
        eye = torch.eye(4).view(4, 1, 1, 4)
        self.upsample = F.interpolate(eye, size=(1, image_size), mode="bicubic", align_corners=False)[:, 0, 0].T
        self.shade = 1 - 0.15 * (self.yy + 1) / 2  # horses a little darker underneath

    def __len__(self) -> int:
        return self.size

    def _background(self, g: torch.Generator) -> Tensor:
        u = torch.rand(8, generator=g)
        sky = SKY + 0.12 * (u[0:3] - 0.5)
        grass = GRASS + 0.12 * (u[3:6] - 0.5)
        horizon, softness = -0.4 + 0.8 * float(u[6]), 0.1 + 0.2 * float(u[7])
        t = torch.sigmoid((self.yy - horizon) / softness)  # 0 = sky (top), 1 = grass (bottom)
        img = torch.lerp(sky.view(3, 1, 1), grass.view(3, 1, 1), t)
        # low-frequency noise: a 4x4 random grid upsampled smoothly (bicubic) to the image
        coarse = 0.05 * torch.randn(4, 4, generator=g)
        return img + self.upsample @ coarse @ self.upsample.T

    def _mask(self, g: torch.Generator) -> Tensor:
        u = torch.rand(6, generator=g).tolist()
        a, b = 0.35 + 0.3 * u[0], 0.35 + 0.3 * u[1]  # semi-axes; area pi*a*b/4 = 10-33% of the image
        theta = u[2] * math.pi
        r = 1.08 * max(a, b)  # outer radius including the wobble: keeps the blob inside the frame
        cx, cy = (u[3] * 2 - 1) * (0.98 - r), (u[4] * 2 - 1) * (0.98 - r)
        ct, st = math.cos(theta), math.sin(theta)
        xr = self.xx * ct + self.yy * st - (cx * ct + cy * st)
        yr = self.yy * ct - self.xx * st - (cy * ct - cx * st)
        wobble = 1 + 0.08 * torch.sin(3 * torch.atan2(yr, xr) + u[5] * 2 * math.pi)  # "ellipse-like"
        return ((xr / a) ** 2 + (yr / b) ** 2 < wobble**2).float()[None]

    def _fill_a(self, g: torch.Generator) -> Tensor:
        jitter = 0.8 + 0.4 * torch.rand(3, generator=g)  # per-channel: lighter, darker, redder horses
        return (BROWN * jitter).view(3, 1, 1) * self.shade

    def _fill_b(self, g: torch.Generator) -> Tensor:
        u = torch.rand(3, generator=g).tolist()
        angle, period = u[0] * math.pi, 0.25 + 0.25 * u[1]  # period: 1/8 to 1/4 of the image width
        along = self.xx * math.cos(angle) + self.yy * math.sin(angle)
        stripes = torch.sin(2 * math.pi * along / period + u[2] * 2 * math.pi) > 0
        return (0.05 + 0.9 * stripes.float()).expand(3, -1, -1)

    def sample(self, domain: str, index: int) -> tuple[Tensor, Tensor]:
        """Image `index` of `domain` ("A" or "B") and its mask."""
        g = sample_generator(self.seed, index, stream=2 * SPLITS[self.split] + (domain == "B"))
        bg, mask = self._background(g), self._mask(g)
        fill = self._fill_a(g) if domain == "A" else self._fill_b(g)
        img = torch.lerp(bg, fill, mask)
        return img.clamp(0, 1) * 2 - 1, mask

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        if not 0 <= i < self.size:
            raise IndexError(f"index {i} out of range for {self.size} samples")
        a, mask_a = self.sample("A", i)
        b, mask_b = self.sample("B", int(self.perm_b[i]))
        return {"A": a, "B": b, "mask_A": mask_a, "mask_B": mask_b}
