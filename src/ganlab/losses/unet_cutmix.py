"""The U-Net discriminator's CutMix regularisation (Schönfeld et al., CVPR 2020): on a real/fake
mix, D's decoder must find which pixels are real, its encoder must call the mix fake, and its
per-pixel output must be consistent with the mixing."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def cutmix_loss(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """The whole regulariser for a D returning {"global", "pixel"} logits."""
    mixed, mask = cutmix(real, fake)
    out_m, out_r, out_f = D(mixed), D(real), D(fake)
    bce = F.binary_cross_entropy_with_logits
    return (bce(out_m["pixel"], mask.expand_as(out_m["pixel"]))
            + bce(out_m["global"], torch.zeros_like(out_m["global"]))
            + consistency_loss(out_m["pixel"], out_r["pixel"].detach(), out_f["pixel"].detach(), mask))


def cutmix(real: Tensor, fake: Tensor, *, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """CutMix of a real and a fake batch (the paper's mix(x, G(z), M)): per sample, a rectangle of
    area ratio r ~ U(0, 1) (the paper's Beta(1, 1)), with the image's aspect ratio, at a uniform
    position. Returns (mixed, mask): mask (B, 1, H, W) is 1 where the pixel comes from `real`
    (inside the box), 0 where it comes from `fake`; mixed = mask * real + (1 - mask) * fake.
    `generator`: a torch.Generator for reproducible boxes (the draws happen on its device)."""
    if real.shape != fake.shape:
        raise ValueError(f"cutmix: real {tuple(real.shape)} and fake {tuple(fake.shape)} differ in shape")
    b, _, h, w = real.shape
    u = torch.rand(b, 3, generator=generator, device=generator.device if generator is not None else "cpu")
    side = u[:, 0].sqrt()
    bh, bw = (side * h).round().long(), (side * w).round().long()
    y0 = (u[:, 1] * (h - bh + 1)).floor().long().clamp(max=h - bh)  # u < 1, the clamp is for safety
    x0 = (u[:, 2] * (w - bw + 1)).floor().long().clamp(max=w - bw)
    y0, x0, bh, bw = (t.to(real.device)[:, None] for t in (y0, x0, bh, bw))
    ys, xs = torch.arange(h, device=real.device), torch.arange(w, device=real.device)
    rows = (ys >= y0) & (ys < y0 + bh)  # (B, H)
    cols = (xs >= x0) & (xs < x0 + bw)  # (B, W)
    mask = (rows[:, :, None] & cols[:, None, :]).to(real.dtype)[:, None]
    return mask * real + (1 - mask) * fake, mask


def consistency_loss(d_pixel_of_mixed: Tensor, d_pixel_real: Tensor, d_pixel_fake: Tensor, mask: Tensor) -> Tensor:
    """The paper's consistency regularisation on per-pixel logits:
    || D_dec(mix(x, G(z), M)) - mix(D_dec(x), D_dec(G(z)), M) ||^2, averaged over batch and pixels
    (the paper's squared norm, divided by the pixel count so its weight does not depend on the image
    size). Zero for a D that acts on each pixel independently. Detach the real/fake terms (as
    cutmix_loss does) to let only the mixed pass be pulled towards the mix."""
    target = mask * d_pixel_real + (1 - mask) * d_pixel_fake
    return (d_pixel_of_mixed - target).pow(2).mean()
