"""Stripe score: is a masked region striped — one orientation, periodic across it?

    score = contrast x coherence x fit x oscillation, in [0, 1]

- coherence: (l1 - l2) / (l1 + l2) of the structure tensor (Scharr gradients summed over the
  pixels whose 3x3 window lies inside the mask, so the outline does not count): 1 when every
  gradient is parallel, ~0 for concentric rings, checkerboards and noise;
- fit: the share of the region's luminance variance explained by the best plane wave
  cos(2 pi f t + phase) along the dominant gradient direction t (least squares over the mask's
  pixels, f from half a cycle across the region to 2 px per cycle), divided by 8/pi^2 (what a
  square wave's fundamental carries: sharp black/white stripes score 1), capped at 1;
- oscillation: the best f must give at least 1.5 cycles across the region (1 or less scores 0):
  a two-tone object or a shading ramp is one light/dark edge, not stripes;
- contrast: min(1, std of luminance / 0.15): a flat or faintly shaded blob is not striped.

0.5 separates stripes from the rest (`translation_success`; the scores of each kind of pattern:
docs/BENCHMARKS.md, Metrics)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

SQUARE_WAVE_R2 = 8 / math.pi**2   # variance share of a square wave's fundamental
CONTRAST_FULL_STD = 0.15          # luminance std (in [0, 1]) at which contrast saturates
MIN_CYCLES, FULL_CYCLES = 1.0, 1.5  # oscillation ramps from 0 to 1 between these cycle counts
MAX_PIXELS = 4096                 # the plane-wave fit uses at most this many (evenly spaced) pixels
_SCHARR = torch.tensor([[3.0, 0.0, -3.0], [10.0, 0.0, -10.0], [3.0, 0.0, -3.0]]) / 32


def gradients(y: Tensor) -> tuple[Tensor, Tensor]:
    """Scharr x and y derivatives of (B, 1, H, W) images (replicated borders)."""
    k = _SCHARR.to(y)
    yp = F.pad(y, (1, 1, 1, 1), mode="replicate")
    return -F.conv2d(yp, k[None, None]), -F.conv2d(yp, k.T[None, None])


def interior(mask: Tensor) -> Tensor:
    """Pixels whose 3x3 neighbourhood lies inside the (B, 1, H, W) bool mask."""
    return F.max_pool2d((~mask).float(), 3, 1, 1) == 0


def coherence(gx: Tensor, gy: Tensor, where: Tensor) -> tuple[float, float]:
    """(coherence, angle of the dominant gradient) of one image's gradients over `where`."""
    jxx, jyy, jxy = (gx * gx)[where].sum(), (gy * gy)[where].sum(), (gx * gy)[where].sum()
    trace = float(jxx + jyy)
    if trace <= 1e-12:
        return 0.0, 0.0
    return float(torch.sqrt((jxx - jyy) ** 2 + 4 * jxy**2)) / trace, 0.5 * math.atan2(float(2 * jxy), float(jxx - jyy))


def plane_wave_fit(t: Tensor, v: Tensor) -> tuple[float, float]:
    """(R^2, cycles across the extent) of the best least-squares fit a cos(2 pi f t) + b sin(2 pi f t)
    + c of values `v` at positions `t` (pixels), over f from 0.5 / extent to 0.5 cycles per pixel."""
    if t.numel() > MAX_PIXELS:
        keep = torch.linspace(0, t.numel() - 1, MAX_PIXELS).round().long()
        t, v = t[keep], v[keep]
    v = v - v.mean()
    total = float((v * v).sum())
    extent = float(t.max() - t.min()) + 1
    if total <= 1e-12:
        return 0.0, 0.0
    best_r2, best_f = 0.0, 0.0
    for fs in torch.arange(0.5 / extent, 0.5 + 1e-9, 0.25 / extent, dtype=t.dtype).split(256):
        phase = 2 * math.pi * fs[:, None] * t[None]
        c, s = torch.cos(phase), torch.sin(phase)
        c, s = c - c.mean(1, keepdim=True), s - s.mean(1, keepdim=True)
        cc, ss, cs, cv, sv = (c * c).sum(1), (s * s).sum(1), (c * s).sum(1), c @ v, s @ v
        det = (cc * ss - cs * cs).clamp_min(1e-9)
        explained = (ss * cv * cv - 2 * cs * cv * sv + cc * sv * sv) / det  # [cv sv] M^-1 [cv sv]^T
        i = int(explained.argmax())
        if float(explained[i]) / total > best_r2:
            best_r2, best_f = float(explained[i]) / total, float(fs[i])
    return min(best_r2, 1.0), best_f * extent


def stripe_parts(y: Tensor, mask: Tensor, gx: Tensor, gy: Tensor) -> dict[str, float]:
    """The score and its factors for one image: luminance y (H, W) in [0, 1], bool mask (H, W),
    its gradients gx, gy (H, W)."""
    rows, cols = torch.nonzero(mask, as_tuple=True)
    vals = y[mask]
    contrast = min(1.0, float(vals.std(unbiased=False)) / CONTRAST_FULL_STD) if vals.numel() > 1 else 0.0
    coh, angle = coherence(gx, gy, interior(mask[None, None])[0, 0])
    t = cols.to(y.dtype) * math.cos(angle) + rows.to(y.dtype) * math.sin(angle)
    r2, cycles = plane_wave_fit(t, vals)
    fit = min(1.0, r2 / SQUARE_WAVE_R2)
    osc = min(1.0, max(0.0, (cycles - MIN_CYCLES) / (FULL_CYCLES - MIN_CYCLES)))
    return {"score": contrast * coh * fit * osc, "contrast": contrast, "coherence": coh, "fit": fit,
            "cycles": cycles}


def stripe_score_per_image(y: Tensor, mask: Tensor) -> Tensor:
    """Per-image stripe score of luminance y (B, 1, H, W) in [0, 1] inside bool masks (B, 1, H, W);
    NaN where a mask is empty."""
    gx, gy = gradients(y)
    out = torch.full((y.shape[0],), math.nan, dtype=torch.float64)
    for i in range(y.shape[0]):
        if bool(mask[i, 0].any()):
            out[i] = stripe_parts(y[i, 0], mask[i, 0], gx[i, 0], gy[i, 0])["score"]
    return out
