"""Exponential moving average of a network's weights (buffers copied), for sampling and eval."""

from __future__ import annotations

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


class EMA:
    def __init__(self, model: nn.Module, *, decay: float,
                 warmup: bool = False):  # decay min(decay, (1 + n) / (10 + n)) after n updates: short runs
        # use_buffers: BatchNorm running stats are averaged too, so the EMA model is usable in eval.
        # The warm-up reads AveragedModel's own update count (a buffer: checkpointed, resumes exactly).
        fn = {"avg_fn": warmup_ema(decay)} if warmup else {"multi_avg_fn": get_ema_multi_avg_fn(decay)}
        self.averaged = AveragedModel(model, use_buffers=True, **fn)
        self.averaged.requires_grad_(False)

    @property
    def module(self) -> nn.Module:
        return self.averaged

    def update(self, model: nn.Module) -> None:
        self.averaged.update_parameters(model)


def warmup_ema(decay: float):
    """An avg_fn whose decay grows with the update count n to `decay`, so the average of a run of
    a few thousand steps is not still mostly the initial weights (0.999^2000 = 0.14)."""
    def avg(averaged, current, n):
        d = ((1.0 + n) / (10.0 + n)).clamp(max=decay).to(averaged.dtype)
        return averaged + (current - averaged) * (1 - d)
    return avg
