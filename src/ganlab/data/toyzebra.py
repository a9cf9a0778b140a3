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
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.synthetic import sample_generator

SPLITS = {"train": 0, "test": 1}


class ToyZebra(Dataset):
    def __init__(self, *, size: int = 2048, image_size: int = 32, seed: int = 0, split: str = "train"):
        if split not in SPLITS:
            raise ValueError(f"split={split!r}: choose train or test")
        self.size, self.s, self.seed, self.split = size, image_size, seed, split
        c = (torch.arange(image_size) + 0.5) / image_size * 2 - 1
        self.yy, self.xx = torch.meshgrid(c, c, indexing="ij")

    def __len__(self) -> int:
        return self.size

    def _background(self, g: torch.Generator) -> Tensor:
        u = torch.rand(8, generator=g)
        sky = torch.tensor([0.45, 0.65, 0.9]) + 0.1 * (torch.rand(3, generator=g) - 0.5)
        grass = torch.tensor([0.3, 0.6, 0.25]) + 0.1 * (torch.rand(3, generator=g) - 0.5)
        horizon = -0.4 + 0.8 * float(u[0])
        t = torch.sigmoid((self.yy - horizon) / 0.2)  # 0 = sky (top), 1 = grass (bottom)
        img = sky.view(3, 1, 1) * (1 - t) + grass.view(3, 1, 1) * t
        # low-frequency noise: two random plane waves of period >= half the image
        for k in range(2):
            ang, freq, ph = float(u[1 + k]) * math.pi, 0.5 + float(u[3 + k]), float(u[5 + k]) * 2 * math.pi
            wave = torch.sin(math.pi * freq * (self.xx * math.cos(ang) + self.yy * math.sin(ang)) + ph)
            img = img + 0.04 * wave
        return img

    def _shape(self, g: torch.Generator) -> Tensor:
        u = torch.rand(6, generator=g)
        a, b = 0.35 + 0.3 * float(u[0]), 0.35 + 0.3 * float(u[1])  # semi-axes: 10-33% of the image
        theta = float(u[2]) * math.pi
        r = max(a, b)
        cx, cy = (float(u[3]) * 2 - 1) * (0.95 - r), (float(u[4]) * 2 - 1) * (0.95 - r)
        x, y = self.xx - cx, self.yy - cy
        xr, yr = x * math.cos(theta) + y * math.sin(theta), -x * math.sin(theta) + y * math.cos(theta)
        wobble = 1 + 0.08 * torch.sin(3 * torch.atan2(yr, xr) + float(u[5]) * 6.28)  # "ellipse-like"
        return ((xr / a) ** 2 + (yr / b) ** 2 < wobble**2).float()[None]

    def _sample(self, domain: str, index: int) -> tuple[Tensor, Tensor]:
        g = sample_generator(self.seed, index, salt=1000 * SPLITS[self.split] + (0 if domain == "A" else 1))
        bg, mask = self._background(g), self._shape(g)
        if domain == "A":
            brown = torch.tensor([0.55, 0.35, 0.18]) * (0.8 + 0.4 * torch.rand(3, generator=g))
            shade = 1 - 0.15 * (self.yy + 1) / 2  # a little darker underneath
            fill = brown.view(3, 1, 1) * shade
        else:
            u = torch.rand(3, generator=g)
            ang, period = float(u[0]) * math.pi, (4 + 4 * float(u[1])) * 2 / self.s  # 4-8 pixels
            phase = float(u[2]) * 2 * math.pi
            s = torch.sin(2 * math.pi / period * (self.xx * math.cos(ang) + self.yy * math.sin(ang)) + phase)
            fill = (0.05 + 0.9 * (s > 0).float()).expand(3, -1, -1)
        img = bg * (1 - mask) + fill * mask
        return img.clamp(0, 1) * 2 - 1, mask

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        a, mask_a = self._sample("A", i)
        # B from an unrelated index: the domains are unpaired
        b, mask_b = self._sample("B", (i * 7_368_787 + 1) % self.size)
        return {"A": a, "B": b, "mask_A": mask_a, "mask_B": mask_b}
