"""The non-adversarial terms of unpaired translation (CycleGAN, Zhu et al. 2017; the aNet of
seed 000). Images in [-1, 1]; each term sums both directions."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def cycle(rec_a: Tensor, a: Tensor, rec_b: Tensor, b: Tensor) -> Tensor:
    """||G_BA(G_AB(a)) - a||_1 + ||G_AB(G_BA(b)) - b||_1."""
    return F.l1_loss(rec_a, a) + F.l1_loss(rec_b, b)


def identity(same_b: Tensor, b: Tensor, same_a: Tensor, a: Tensor) -> Tensor:
    """||G_AB(b) - b||_1 + ||G_BA(a) - a||_1: a generator leaves its target domain alone."""
    return F.l1_loss(same_b, b) + F.l1_loss(same_a, a)


def perceptual(ab: Tensor, a: Tensor, ba: Tensor, b: Tensor) -> Tensor:
    """Seed 000's "perceptual" loss: mean absolute error between each output and its input."""
    return F.l1_loss(ab, a) + F.l1_loss(ba, b)


def mask_sparsity(attn_ab: Tensor, attn_ba: Tensor) -> Tensor:
    """L1 on the attention masks (aNet): change as few pixels as the translation needs."""
    return attn_ab.mean() + attn_ba.mean()
