"""What the non-GAN baselines (flow matching, DDPM, VAE) share: one network trained in one phase
("model", optimizer schedule.optimizer.model), an EMA of its weights for sampling and eval, and
generate() from seeded Gaussian noise — the same contract as the GAN's, so sample, eval, compare
and the evaluators treat them alike.

A subclass defines `loss(x)` (the phase's objective on a data batch in network units, returning
{"loss": ..., "train/...": ...}) and `decode(z, g)` (noise -> samples in network units), and
sets `nfe` (network evaluations per sample).

Class-conditional (flow, DDPM: `num_classes` > 0): the network takes labels, and with probability
`cond_drop` a training label is replaced by the null label (index num_classes), so that the one
network is also the unconditional model. Sampling then uses classifier-free guidance (Ho &
Salimans 2022): out = uncond + guidance * (cond - uncond); guidance 0 is the unconditional model,
1 the conditional one, > 1 trades diversity for samples more typical of their class."""

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
                 n_fixed: int = 64,               # fixed-noise samples drawn for every grid
                 num_classes: int = 0,            # > 0: class-conditional (the data's labels)
                 cond_drop: float = 0.0,          # conditional: chance a training label becomes the null label
                 guidance: float = 1.0):          # conditional sampling: 0 unconditional, 1 conditional, > 1 guided
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
        self.num_classes = check_classes(num_classes, net)
        if not 0.0 <= cond_drop < 1.0:
            raise ConfigError(f"cond_drop={cond_drop}: must be in [0, 1)")
        self.cond_drop, self.guidance = float(cond_drop), float(guidance)
        self.ema = EMA(net, decay=ema_decay, warmup=True) if ema_decay > 0 else None
        # fixed noise (and classes: one row per class, as the GAN's) so sample grids are comparable over time
        self.n_fixed = n_fixed if not self.num_classes else self.num_classes * max(1, min(8, n_fixed // self.num_classes))
        self.fixed_z = torch.randn(self.n_fixed, *self.latent_shape, generator=torch.Generator().manual_seed(1234))
        self.fixed_y = (torch.arange(self.num_classes).repeat_interleave(self.n_fixed // self.num_classes)
                        if self.num_classes else None)

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
        x = batch["x"] / self.scale
        if not self.num_classes:
            return self.loss(x)
        y = batch["y"].to(x.device)
        drop = torch.rand(y.shape[0], device=x.device) < self.cond_drop  # the global RNG: resumed bitwise
        return self.loss(x, y=torch.where(drop, torch.full_like(y, self.num_classes), y))

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        raise NotImplementedError

    def decode(self, z: Tensor, g: torch.Generator, y: Tensor | None = None) -> Tensor:
        """Noise z (on the device) -> samples (of classes y, conditional models); any further noise
        is drawn from g (CPU)."""
        raise NotImplementedError

    # -- the network, conditional or not ---------------------------------------------------
    def guided(self, net: nn.Module, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        """net's output at (x, t): unconditional models ignore y; conditional ones take y (None:
        the null label, the unconditional model) and, for guidance != 1, both predictions mixed."""
        if not self.num_classes:
            return net(x, t)
        if y is None or self.guidance == 0:
            return net(x, t, None)
        if self.guidance == 1:
            return net(x, t, y)
        null = torch.full_like(y, self.num_classes)
        cond, uncond = net(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, null])).chunk(2)
        return self.guide(cond, uncond)

    def guide(self, cond: Tensor, uncond: Tensor) -> Tensor:
        return uncond + self.guidance * (cond - uncond)

    @property
    def evals_per_call(self) -> int:
        """Network evaluations per prediction: guided sampling runs the net on both labels."""
        return 2 if self.num_classes and self.guidance not in (0, 1) else 1

    # -- sampling --------------------------------------------------------------------------
    def sampler(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.net

    @torch.no_grad()
    def generate(self, n: int, *, device, seed: int = 0, z: Tensor | None = None, y: Tensor | None = None) -> Tensor:
        """n samples (data units) from the EMA network in eval mode, reproducible from `seed`; or
        the samples of given noise `z` (n, *latent_shape), e.g. an interpolation path. A conditional
        model draws classes `y` (n,), random ones when None."""
        net = self.sampler()
        was_training = net.training
        net.eval()
        g = torch.Generator().manual_seed(seed)
        if z is None:
            z = torch.randn(n, *self.latent_shape, generator=g)
        if self.num_classes and y is None:
            y = torch.randint(0, self.num_classes, (n,), generator=g)
        elif y is not None and not self.num_classes:
            raise ValueError("generate(y=...): this model is unconditional (num_classes=0)")
        out = torch.cat([self.decode(z[s:s + 512].to(device), g, *(() if y is None else (y[s:s + 512].to(device),)))
                         for s in range(0, n, 512)])
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
        imgs = self.generate(self.n_fixed, device=run.device, z=self.fixed_z, y=self.fixed_y).float().cpu()
        nrow = self.n_fixed // self.num_classes if self.num_classes else 8
        return {"grid": make_grid(imgs, nrow=nrow, normalize=True, value_range=(-1, 1))}


def check_classes(num_classes, net: nn.Module) -> int:
    """The algorithm's and its network's class counts agree (both set from model.num_classes)."""
    if not isinstance(num_classes, int) or num_classes < 0:
        raise ConfigError(f"num_classes={num_classes!r}: must be an integer >= 0 (0: unconditional)")
    if getattr(net, "num_classes", 0) != num_classes:
        raise ConfigError(f"num_classes={num_classes}: the network {type(net).__name__} takes "
                          f"{getattr(net, 'num_classes', 0)} classes; set model.networks.net.num_classes="
                          f"{num_classes} (conf/model/denoiser/ sets it from model.num_classes)")
    return num_classes
