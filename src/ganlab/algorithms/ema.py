"""Exponential moving average of a network's weights (buffers copied), for sampling and eval."""

from __future__ import annotations

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


class EMA:
    def __init__(self, model: nn.Module, *, decay: float):
        # use_buffers: BatchNorm running stats are averaged too, so the EMA model is usable in eval
        self.averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
        self.averaged.requires_grad_(False)

    @property
    def module(self) -> nn.Module:
        return self.averaged

    def update(self, model: nn.Module) -> None:
        self.averaged.update_parameters(model)
