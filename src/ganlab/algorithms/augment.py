"""Differentiable augmentation of every image D sees, real and generated, in D's and G's phases
(G trains through it): the `augment` config group. `NoAugment` (augment=none) draws no random
numbers; `DiffAugment` (augment=diffaug; Zhao et al., NeurIPS 2020): colour, translation, cutout,
each applied with probability p (1: every image); `AdaptiveAugment` (augment=ada; Karras et al.,
NeurIPS 2020): the same ops, p moved every `interval` D steps by sign(r_t - target) x (images
seen) / `adjust_images` within [0, p_max], r_t = E[sign(D(x_real))]; p, r_t and the running sums
are checkpointed. The ops are DiffAugment's (integer shifts with zero padding, colour on [-1, 1],
per sample), not kornia's (RandomAffine resamples, blurring every image D sees; its colour ops
expect [0, 1]). Random numbers come from the global torch RNG, which checkpoints hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ganlab.errors import ConfigError


def _u(x: Tensor, *shape: int) -> Tensor:
    """Uniform [0, 1) numbers, one per sample, broadcastable over (B, C, H, W)."""
    return torch.rand(x.shape[0], *shape, device=x.device, dtype=x.dtype)


def color(x: Tensor) -> Tensor:
    """Brightness (+U(-0.5, 0.5)), saturation (x U(0, 2) around the pixel's channel mean),
    contrast (x U(0.5, 1.5) around the image mean)."""
    x = x + (_u(x, 1, 1, 1) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_u(x, 1, 1, 1) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_u(x, 1, 1, 1) + 0.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by whole pixels, up to `ratio` of its size each way; zeros come in."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sy, sy + 1, (b, 1, 1), device=x.device)
    tx = torch.randint(-sx, sx + 1, (b, 1, 1), device=x.device)
    # read pixel (i - ty, j - tx) of the image padded by one zero border; out of range -> the border
    iy = (torch.arange(h, device=x.device).view(1, h, 1) - ty + 1).clamp(0, h + 1)
    ix = (torch.arange(w, device=x.device).view(1, 1, w) - tx + 1).clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)               # (B, H+2, W+2, C)
    bi = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[bi, iy, ix].permute(0, 3, 1, 2)


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero a square of `ratio` of the image size at a random centre (it may hang over the edge)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device) - cw // 2
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


OPS = {"color": color, "translation": translation, "cutout": cutout}


class NoAugment:
    """augment=none: D sees the images unchanged."""

    p = 0.0

    def __call__(self, x: Tensor) -> Tensor:
        return x

    def observe(self, real_scores: Tensor) -> None:
        """D's outputs on real images this D step, relative to its decision line (ADA reads them)."""

    def end_d_step(self) -> None:
        """After D's optimizer step (ADA adjusts p)."""

    def stats(self) -> dict[str, Tensor]:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class DiffAugment(NoAugment):
    def __init__(self, *, policy: Sequence[str] = ("color", "translation", "cutout"),
                 p: float = 1.0,    # chance per image and op (DiffAugment: 1, every image)
                 image_size: int | None = 0):  # the data's; None (2D points) is refused at start
        if image_size is None:
            raise ConfigError("augment: works on images and this data has no data.image_size (2D points?): use augment=none")
        unknown = [op for op in policy if op not in OPS]
        if unknown or not policy:
            raise ConfigError(f"augment.policy={list(policy)}: choose a non-empty list of {', '.join(OPS)}")
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"augment.p={p}: must be in [0, 1]")
        self.policy, self.p = list(policy), float(p)

    def __call__(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ConfigError(f"augment: works on images (B, C, H, W), got shape {tuple(x.shape)}; "
                              "use augment=none for this data")
        if self.p <= 0.0:
            return x
        for op in self.policy:
            out = OPS[op](x)
            if self.p < 1.0:  # each image is augmented by this op with probability p
                keep = _u(x, 1, 1, 1) >= self.p
                out = torch.where(keep, x, out)
            x = out
        return x


class AdaptiveAugment(DiffAugment):
    def __init__(self, *, policy: Sequence[str] = ("color", "translation", "cutout"),
                 target: float = 0.6,            # r_t = E[sign(D(x_real))] that p steers to
                 interval: int = 4,              # D steps between adjustments (StyleGAN2-ADA: 4)
                 adjust_images: int = 100_000,   # real images seen for p to move from 0 to 1
                 p_init: float = 0.0,
                 p_max: float = 0.8,             # bound below 1: at p=1 augmentations leak into G
                 image_size: int | None = 0):    # the data's; None (2D points) is refused at start
        super().__init__(policy=policy, p=p_init, image_size=image_size)
        if not 0.0 <= p_max < 1.0:
            raise ConfigError(f"augment.p_max={p_max}: must be in [0, 1)")
        if not 0.0 <= p_init <= p_max:
            raise ConfigError(f"augment.p_init={p_init}: must be in [0, augment.p_max={p_max}]")
        if not -1.0 < target < 1.0:
            raise ConfigError(f"augment.target={target}: must be in (-1, 1)")
        if interval < 1 or adjust_images < 1:
            raise ConfigError("augment.interval and augment.adjust_images: must be >= 1")
        self.target, self.interval, self.adjust_images, self.p_max = target, interval, adjust_images, p_max
        self.rt = 0.0            # r_t of the last completed interval
        self.sign_sum: Tensor | None = None   # sum of sign(D(x_real)) and count, this interval
        self.count = 0
        self.steps = 0

    def observe(self, real_scores: Tensor) -> None:
        s = real_scores.detach().float().sign().sum()
        self.sign_sum = s if self.sign_sum is None else self.sign_sum + s
        self.count += real_scores.shape[0]

    def end_d_step(self) -> None:
        """After D's optimizer step: every `interval` steps, r_t and the step on p."""
        self.steps += 1
        if self.steps % self.interval or not self.count:
            return
        s = self.sign_sum.double()
        total = torch.stack([s, torch.full_like(s, float(self.count))])
        if torch.distributed.is_available() and torch.distributed.is_initialized():  # one p for all ranks
            torch.distributed.all_reduce(total)
        self.rt = float(total[0] / total[1])
        step = (1.0 if self.rt > self.target else -1.0) * float(total[1]) / self.adjust_images
        self.p = min(max(self.p + step, 0.0), self.p_max)
        self.sign_sum, self.count = None, 0

    def stats(self) -> dict[str, Tensor]:
        return {"train/ada_p": torch.tensor(self.p), "train/ada_rt": torch.tensor(self.rt)}

    def state_dict(self) -> dict:
        return {"p": self.p, "rt": self.rt, "steps": self.steps, "count": self.count,
                "sign_sum": None if self.sign_sum is None else self.sign_sum.detach().cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.rt, self.steps, self.count = state["p"], state["rt"], state["steps"], state["count"]
        s = state["sign_sum"]
        self.sign_sum = None if s is None else s.clone()
