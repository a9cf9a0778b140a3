"""Interpolation strips between noise points (the course notes' "noise interpolation"): for
Gaussian noise spherically (slerp), since a straight line between two N(0, I) draws passes
through low-norm points that the model never saw in training."""

from __future__ import annotations

import torch
from torch import Tensor


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Points at fractions t (F,) of the great-circle path from each row of a to the same row of
    b (R, ...): (R, F, ...). Nearly parallel rows fall back to the straight line."""
    fa, fb = a.flatten(1), b.flatten(1)
    cos = (fa * fb).sum(1) / (fa.norm(dim=1) * fb.norm(dim=1)).clamp_min(1e-12)
    omega = cos.clamp(-1, 1).acos()[:, None]                     # (R, 1)
    tt = t[None, :]                                              # (1, F)
    so = omega.sin()
    parallel = so.abs() < 1e-6
    wa = torch.where(parallel, 1 - tt, ((1 - tt) * omega).sin() / so.where(~parallel, torch.ones_like(so)))
    wb = torch.where(parallel, tt, (tt * omega).sin() / so.where(~parallel, torch.ones_like(so)))
    out = wa[..., None] * fa[:, None] + wb[..., None] * fb[:, None]  # (R, F, D)
    return out.reshape(a.shape[0], t.shape[0], *a.shape[1:])


def noise_strips(latent_shape: tuple[int, ...], *, rows: int, frames: int, seed: int = 0) -> Tensor:
    """`rows` strips of `frames` noise points each, slerped between two seeded N(0, I) draws:
    (rows * frames, *latent_shape), strip after strip."""
    g = torch.Generator().manual_seed(seed)
    a, b = (torch.randn(rows, *latent_shape, generator=g) for _ in range(2))
    return slerp(a, b, torch.linspace(0, 1, frames)).reshape(rows * frames, *latent_shape)
