"""Translation metrics against a ground-truth object mask (toyzebra: horse blob -> striped blob).

Images are floats in [-1, 1], (B, C, H, W); true masks (B, 1, H, W) in {0, 1}; attention masks
(B, 1, H, W) in [0, 1]. Batch-level values pool pixels over the batch (dataset-level), the
per-image values (`*_per_image`) feed `translation_success`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ganlab.metrics import stripes

_EMPTY_IOU = 1.0  # both masks empty: perfect agreement
STRIPE_TRANSITIONS = 4.0  # oscillation: light/dark transitions across the object for a full score
# luminance MAD at which contrast saturates: ideal 50/50 black/white stripes have 0.5, a 30/70
# duty cycle 0.42; 0.35 leaves room for the soft edges of generated stripes
CONTRAST_FULL_MAD = 0.35


def _bool(mask: Tensor, threshold: float = 0.5) -> Tensor:
    return mask.detach().float().cpu() > threshold


def iou_per_image(pred_attn: Tensor, true_mask: Tensor, threshold: float = 0.5) -> Tensor:
    p, t = _bool(pred_attn, threshold).flatten(1), _bool(true_mask).flatten(1)
    inter, union = (p & t).sum(1).double(), (p | t).sum(1).double()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.full_like(inter, _EMPTY_IOU))


def mask_iou(pred_attn: Tensor, true_mask: Tensor, threshold: float = 0.5) -> float:
    """IoU of (attention > threshold) with the true mask, dataset-level: sum of intersections over
    sum of unions across the batch (large objects weigh more; no per-image averaging)."""
    p, t = _bool(pred_attn, threshold), _bool(true_mask)
    union = int((p | t).sum())
    return float((p & t).sum()) / union if union else _EMPTY_IOU


def _abs_diff01(output: Tensor, input: Tensor) -> Tensor:
    # |(o + 1)/2 - (i + 1)/2|, channel-averaged: (B, 1, H, W)
    return ((output.detach().float().cpu() - input.detach().float().cpu()).abs() / 2).mean(1, keepdim=True)


def background_l1_per_image(output: Tensor, input: Tensor, true_mask: Tensor) -> Tensor:
    d, bg = _abs_diff01(output, input), (~_bool(true_mask)).float()
    n = bg.flatten(1).sum(1)
    return torch.where(n > 0, (d * bg).flatten(1).sum(1) / n.clamp_min(1), torch.zeros_like(n))


def background_l1(output: Tensor, input: Tensor, true_mask: Tensor) -> float:
    """Mean |output - input| over pixels outside the true mask (and over channels), with images
    mapped to [0, 1]; pixels pooled over the batch. 0 = background perfectly preserved."""
    d, bg = _abs_diff01(output, input), (~_bool(true_mask)).float()
    n = float(bg.sum())
    return float((d * bg).sum()) / n if n else 0.0


def _luminance01(images: Tensor) -> Tensor:
    x = (images.detach().float().cpu() + 1) / 2
    if x.shape[1] == 3:
        x = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    return x[:, :1].clamp(0, 1)


def oscillation_per_image(images: Tensor, mask: Tensor) -> Tensor:
    """Per-image contrast x oscillation in [0, 1] (NaN for an empty mask); see `oscillation`."""
    y, m = _luminance01(images), _bool(mask).float()
    area = m.flatten(1).sum(1)
    mean = (y * m).flatten(1).sum(1) / area.clamp_min(1)
    mad = ((y - mean.view(-1, 1, 1, 1)).abs() * m).flatten(1).sum(1) / area.clamp_min(1)
    contrast = (mad / CONTRAST_FULL_MAD).clamp(0, 1)
    # total variation inside the object: only differences whose two pixels are both in the mask,
    # so the object's own outline against the background does not count as a stripe
    dx, mx = (y[..., :, 1:] - y[..., :, :-1]).abs(), m[..., :, 1:] * m[..., :, :-1]
    dy, my = (y[..., 1:, :] - y[..., :-1, :]).abs(), m[..., 1:, :] * m[..., :-1, :]
    grad = (torch.sqrt(F.pad(dx * mx, (0, 1)) ** 2 + F.pad(dy * my, (0, 0, 0, 1)) ** 2)
            ).flatten(1).sum(1) / area.clamp_min(1)
    diameter = 2 * torch.sqrt(area / math.pi)
    # a light/dark transition of height ~2*MAD every P pixels gives grad ~ 2*MAD/P per pixel:
    # transitions across the object ~ grad * diameter / (2*MAD)
    transitions = grad * diameter / (2 * mad).clamp_min(1e-6)
    s = contrast * (transitions / STRIPE_TRANSITIONS).clamp(0, 1)
    return torch.where(area > 0, s, torch.full_like(s, math.nan))


def oscillation(images: Tensor, mask: Tensor) -> float:
    """How much the masked region's luminance alternates, in [0, 1]: contrast x oscillation,
    averaged over images with a non-empty mask (NaN if none). It sees no orientation (`stripedness`
    does), so concentric rings, checkerboards and high-contrast noise score as high as stripes.

    - contrast = min(1, MAD / 0.35), MAD = mean |Y - mean Y| of luminance Y in [0, 1] inside the
      mask: 1 for black/white patterns (MAD 0.5 at a 50/50 duty cycle), ~0 for a flat brown fill;
    - oscillation = min(1, T / 4), T = estimated number of light/dark transitions across the
      object = (mean gradient magnitude inside the mask) x (equivalent diameter) / (2 * MAD):
      a two-tone object (T ~ 1) scores 0.25, two or more periods score 1.
    """
    return _mean(oscillation_per_image(images, mask))


def stripedness_per_image(images: Tensor, mask: Tensor) -> Tensor:
    """Per-image stripe score in [0, 1] (NaN for an empty mask); see `stripedness`."""
    return stripes.stripe_score_per_image(_luminance01(images), _bool(mask))


def stripedness(images: Tensor, mask: Tensor) -> float:
    """How striped the masked region is, in [0, 1] (`val/stripe`): contrast x orientation
    coherence x plane-wave fit x oscillation (metrics/stripes.py), averaged over images with a
    non-empty mask (NaN if none). What each kind of pattern scores: docs/BENCHMARKS.md, Metrics."""
    return _mean(stripedness_per_image(images, mask))


def _mean(s: Tensor) -> float:
    s = s[~s.isnan()]
    return float(s.mean()) if len(s) else math.nan


def translation_success(pred_attn: Tensor, output: Tensor, input: Tensor, true_mask: Tensor, *,
                        iou_min: float = 0.5, stripe_min: float = 0.5, bg_max: float = 0.05) -> float:
    """Fraction of images where all three hold: attention IoU >= iou_min, stripedness of the
    output inside the true mask >= stripe_min, background L1 <= bg_max."""
    ok = ((iou_per_image(pred_attn, true_mask) >= iou_min)
          & (stripedness_per_image(output, true_mask) >= stripe_min)  # NaN compares False
          & (background_l1_per_image(output, input, true_mask) <= bg_max))
    return float(ok.double().mean()) if len(ok) else math.nan


def mask_stats(attn: Tensor) -> dict[str, float]:
    """Attention-mask diagnostics: mean coverage and the fractions of pixels < 0.05 and > 0.95."""
    a = attn.detach().float()
    return {"coverage": float(a.mean()), "low": float((a < 0.05).float().mean()),
            "high": float((a > 0.95).float().mean())}


def mask_collapsed(stats: dict, *, tol: float = 0.98) -> str | None:
    """'all-0' / 'all-1' when at least `tol` of the pixels are saturated low / high, else None."""
    if stats["low"] >= tol:
        return "all-0"
    if stats["high"] >= tol:
        return "all-1"
    return None
