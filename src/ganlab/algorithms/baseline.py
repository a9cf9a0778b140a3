"""What the non-GAN baselines (flow matching, DDPM, VAE) share: one network trained in one phase
("model", optimizer schedule.optimizer.model), an EMA of its weights for sampling and eval, and
generate() from seeded Gaussian noise — the same contract as the GAN's, so sample, eval, compare
and the evaluators treat them alike.

A subclass defines `loss(x)` (the phase's objective on a data batch in network units, returning
{"loss": ..., "train/...": ...}) and `decode(z, g)` (noise -> samples in network units), and
sets `nfe` (network evaluations per sample)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganlab.algorithms.augment import NoAugment
from ganlab.algorithms.base import Phase, StepContext
from ganlab.algorithms.ema import EMA
from ganlab.errors import ConfigError


class Baseline:
    nfe: int = 1

    def __init__(self, *, net: nn.Module,
                 sample_shape: tuple[int, ...],   # one sample: [2] (2D points) or [C, H, W]
                 ema_decay: float = 0.999,        # 0 = sample with the trained weights; warmed up (ema.py)
                 scale: float = 1.0,              # data units per network unit (grid25: 4)
                 augment=None,                    # the augment group: only none (no D to augment for)
                 n_fixed: int = 64):              # fixed-noise samples drawn for every grid
        if augment is not None and type(augment) is not NoAugment:  # else it would be silently ignored
            raise ConfigError(f"augment={type(augment).__name__}: augmentation acts on what a GAN's discriminator "
                              f"sees, and this baseline has none: use augment=none")
        self.net = net
        self.sample_shape = tuple(int(s) for s in sample_shape)
        if not self.sample_shape or min(self.sample_shape) < 1:
            raise ConfigError(f"sample_shape={list(sample_shape)}: must be positive sizes, e.g. [2] or [3, 32, 32]")
        if not 0.0 <= ema_decay < 1.0:
            raise ConfigError(f"ema_decay={ema_decay}: must be in [0, 1)")
        self.scale = float(scale)
        self.ema = EMA(net, decay=ema_decay, warmup=True) if ema_decay > 0 else None
        self.n_fixed = n_fixed
        self.fixed_z = torch.randn(n_fixed, *self.latent_shape, generator=torch.Generator().manual_seed(1234))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """The shape of one noise sample that decode() maps to a sample."""
        return self.sample_shape

    # -- what the loop needs to know -------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net} | ({"net_ema": self.ema.module} if self.ema is not None else {})

    def phases(self) -> list[Phase]:
        return [Phase("model", self.step, (self.net,), after=self._update_ema)]

    def _update_ema(self) -> None:
        if self.ema is not None:
            self.ema.update(self.net)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def step(self, batch: dict[str, Tensor], ctx: StepContext) -> dict[str, Tensor]:
        return self.loss(batch["x"] / self.scale)

    def loss(self, x: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def decode(self, z: Tensor, g: torch.Generator) -> Tensor:
        """Noise z (on the device) -> samples; any further noise is drawn from g (CPU)."""
        raise NotImplementedError

    # -- sampling --------------------------------------------------------------------------
    def sampler(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.net

    @torch.no_grad()
    def generate(self, n: int, *, device, seed: int = 0, z: Tensor | None = None) -> Tensor:
        """n samples (data units) from the EMA network in eval mode, reproducible from `seed`; or
        the samples of given noise `z` (n, *latent_shape), e.g. an interpolation path."""
        net = self.sampler()
        was_training = net.training
        net.eval()
        g = torch.Generator().manual_seed(seed)
        if z is None:
            z = torch.randn(n, *self.latent_shape, generator=g)
        out = torch.cat([self.decode(z[s:s + 512].to(device), g) for s in range(0, n, 512)])
        net.train(was_training)
        return self.scale * out

    def visuals(self, run) -> dict:
        """A fixed-noise grid, or for 2D data a scatter of samples over the true modes."""
        if len(self.sample_shape) == 1:
            from ganlab.metrics.modes import scatter_figure
            data = run.dataset("train")
            pts = self.generate(2500, device=run.device, seed=0).cpu()
            return {"scatter": scatter_figure(pts, data.centers, data.std)}
        from torchvision.utils import make_grid
        imgs = self.generate(self.n_fixed, device=run.device, z=self.fixed_z).float().cpu()
        return {"grid": make_grid(imgs, nrow=8, normalize=True, value_range=(-1, 1))}
