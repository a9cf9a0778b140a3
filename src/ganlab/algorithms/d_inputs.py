"""What D sees in one D step, as one value that stabilization tricks and experiment
interventions transform (training/tricks.py). Every sample carries its provenance so D's output
can be logged per source (train/d_on_real, train/d_on_fake, ...)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

# provenance codes of the samples D sees
REAL, FAKE, NOISY_REAL, INJECTED = 0, 1, 2, 3
SOURCE_NAMES = {REAL: "real", FAKE: "fake", NOISY_REAL: "noisy_real", INJECTED: "injected"}


@dataclass
class DInputs:
    real: Tensor                      # the batch D is told is real
    fake: Tensor                      # the batch D is told is generated (detached)
    real_cond: Tensor | None = None   # class labels for conditional D
    fake_cond: Tensor | None = None
    real_target: Tensor | None = None  # per-sample label targets (smoothing / flipping); None = 1
    fake_target: Tensor | None = None  # None = 0
    real_source: Tensor | None = None  # provenance codes, shape (B,)
    fake_source: Tensor | None = None

    def __post_init__(self):
        if self.real_source is None:
            self.real_source = torch.full((self.real.shape[0],), REAL, device=self.real.device)
        if self.fake_source is None:
            self.fake_source = torch.full((self.fake.shape[0],), FAKE, device=self.fake.device)

    def replace(self, **kw) -> DInputs:
        return replace(self, **kw)
