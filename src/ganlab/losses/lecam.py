"""LeCam regularisation (Tseng et al., CVPR 2021) for D, on top of any adversarial loss:

    weight * (E[relu(D(x) - ema_fake)^2] + E[relu(ema_real - D(G(z)))^2])

on D's raw outputs (logits / critic values), where ema_real and ema_fake are exponential moving
averages of D's mean raw output on real and generated images. It keeps D's real and fake outputs
from drifting apart, which on small data is how D overfits. The one-sided (relu) form is the
authors' code's. The EMAs are training state: in checkpoints (`loss.lecam` in conf/config.yaml).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganlab.errors import ConfigError


class LeCam:
    def __init__(self, *, weight: float = 0.0,   # 0 = off
                 decay: float = 0.99,             # of the EMAs of D's mean outputs
                 start_steps: int = 1000):        # first D steps: the EMAs follow the current means (decay 0)
        if weight < 0:
            raise ConfigError(f"loss.lecam.weight={weight}: must be >= 0")
        if not 0.0 <= decay < 1.0:
            raise ConfigError(f"loss.lecam.decay={decay}: must be in [0, 1)")
        self.weight, self.decay, self.start_steps = float(weight), float(decay), int(start_steps)
        self.ema_real: Tensor | None = None
        self.ema_fake: Tensor | None = None
        self.updates = 0

    def __bool__(self) -> bool:
        return self.weight > 0

    def _ema(self, old: Tensor | None, new: Tensor) -> Tensor:
        d = self.decay if self.updates >= self.start_steps and old is not None else 0.0
        return new if d == 0.0 else d * old.to(new.device) + (1 - d) * new

    def __call__(self, real: Tensor, fake: Tensor) -> Tensor:
        """The penalty for D's raw outputs on real and on generated images; updates the EMAs."""
        real, fake = real.float(), fake.float()
        self.ema_real = self._ema(self.ema_real, real.detach().mean())
        self.ema_fake = self._ema(self.ema_fake, fake.detach().mean())
        self.updates += 1
        reg = F.relu(real - self.ema_fake).pow(2).mean() + F.relu(self.ema_real - fake).pow(2).mean()
        return self.weight * reg

    def state_dict(self) -> dict:
        return {"ema_real": _cpu(self.ema_real), "ema_fake": _cpu(self.ema_fake), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.ema_real, self.ema_fake, self.updates = state["ema_real"], state["ema_fake"], state["updates"]


def lecam_or_none(lecam: LeCam | None) -> LeCam | None:
    """The algorithms' view: None when off (weight 0), so runs without it draw and log nothing new."""
    return lecam if lecam else None



def _cpu(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.detach().cpu()
