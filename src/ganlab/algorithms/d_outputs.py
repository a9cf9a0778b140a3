"""What a discriminator returns, seen the same way by every algorithm and regulariser: one logit
tensor, or a U-Net D's {"global", "pixel"} pair whose global logit stands for it."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def d_outputs(out) -> list[Tensor]:
    """A discriminator's outputs as a list of logit tensors (U-Net D: global and per-pixel)."""
    return [out["global"], out["pixel"]] if isinstance(out, dict) else [out]


class FirstOutput(nn.Module):
    """A D whose first output stands for it (U-Net D: the global logit): for the gradient
    penalties and for rating images. It calls D's eager forward even when D is compiled
    (trainer.compile): penalties take a double backward, which compiled graphs do not support."""

    def __init__(self, D: nn.Module):
        super().__init__()
        self.D = D

    def forward(self, *args):
        return d_outputs(eager(self.D)(*args))[0]


@torch.no_grad()
def rate_untouched(D: nn.Module, *args) -> Tensor:
    """D's first output on images as in training (its current mode: BatchNorm on the batch's
    statistics), with its buffers (running statistics) restored after: measuring D on held-out
    images must not change the run."""
    saved = [b.clone() for b in D.buffers()]
    out = d_outputs(eager(D)(*args))[0]
    for b, old in zip(D.buffers(), saved):
        b.copy_(old)
    return out


def eager(module: nn.Module):
    """`module` without its torch.compile'd call (nn.Module.compile keeps the eager one)."""
    return module._call_impl if getattr(module, "_compiled_call_impl", None) is not None else module
