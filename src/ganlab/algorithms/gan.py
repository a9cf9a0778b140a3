"""A GAN from noise: images (DCGAN, conditional GAN) or 2D points (the MLP GAN), as phases.

Phases: D every step; G every `g_every` steps (n_critic); with a lazy regulariser (R1 every 16
steps as StyleGAN2 does) a D regularisation phase on its own interval. D's extra loss terms are
its regularisers (algorithms/regularisers.py). Each returns {"loss": tensor to
minimise, "train/...": 0-d tensors}; the Run owns everything else (algorithms/base.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from torch import Tensor, nn

from ganlab.algorithms import regularisers as regs
from ganlab.algorithms.augment import NoAugment
from ganlab.algorithms.base import Phase, StepContext
from ganlab.algorithms.d_inputs import SOURCE_NAMES, DInputs
from ganlab.algorithms.d_outputs import d_outputs, rate_untouched
from ganlab.algorithms.ema import EMA
from ganlab.algorithms.regularisers import check_cutmix
from ganlab.errors import ConfigError
from ganlab.losses.lecam import LeCam, lecam_or_none


class GAN:
    def __init__(self, *, G: nn.Module, D: nn.Module, loss, z_dim: int, num_classes: int = 0,
                 g_every: int = 1,          # G updates once per g_every D updates (WGAN's n_critic)
                 cutmix_prob: float = 0.0,  # U-Net D: chance per D step of the CutMix regularisation
                 d_tricks: Sequence = (),   # callables DInputs -> DInputs (training/tricks.py)
                 augment=None,              # the augment group: applied to every image D sees
                 lecam: LeCam | None = None,  # LeCam regularisation of D (loss.lecam; weight 0 = off)
                 regularisers=None,         # more of D's regularisers: name -> one (conf/regulariser/)
                 ortho_reg: float = 0.0,    # > 0: BigGAN's orthogonal regularisation of G's weights
                 ema_decay: float = 0.0,    # 0 = off; else G's weights averaged for sampling/eval
                 ema_warmup: bool = False,  # decay min(ema_decay, (1 + n) / (10 + n)): a short run's EMA
                                            # is not mostly G at initialisation (grey images)
                 n_fixed: int = 64):        # fixed-noise samples drawn for every grid
        self.G, self.D, self.loss = G, D, loss
        self.z_dim, self.num_classes = z_dim, num_classes
        self.d_tricks = list(d_tricks)
        self.augment = augment if augment is not None else NoAugment()
        self.g_every = g_every
        if not ortho_reg >= 0:
            raise ConfigError(f"model.algorithm.ortho_reg={ortho_reg}: must be >= 0 (0: off)")
        self.ortho_reg = float(ortho_reg)
        cutmix_prob = check_cutmix(cutmix_prob, D)
        if cutmix_prob and num_classes:
            raise ConfigError("model.algorithm.cutmix_prob: CutMix mixes images of different classes; "
                              "use it with an unconditional model")
        self.regularisers = regs.d_regularisers(loss=loss, lecam=lecam_or_none(lecam), cutmix_prob=cutmix_prob,
                                                extra=regularisers)
        self.G_ema = EMA(G, decay=ema_decay, warmup=ema_warmup) if ema_decay > 0 else None
        # fixed noise (and classes: one row per class) so sample grids are comparable over time
        g = torch.Generator().manual_seed(1234)
        self.n_fixed = n_fixed if not num_classes else num_classes * max(1, min(8, n_fixed // num_classes))
        self.fixed_z = torch.randn(self.n_fixed, z_dim, generator=g)
        self.fixed_y = (torch.arange(num_classes).repeat_interleave(self.n_fixed // num_classes)
                        if num_classes else None)

    # -- what the loop needs to know -------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        mods = {"G": self.G, "D": self.D}
        if self.G_ema is not None:
            mods["G_ema"] = self.G_ema.module
        return mods

    def phases(self) -> list[Phase]:
        phases = [Phase("D", self.d_step, (self.D,), after=self._after_d),
                  Phase("G", self.g_step, (self.G,), every=self.g_every, after=self._update_ema)]
        lazy = regs.lazy_intervals(self.regularisers)
        for i, every in enumerate(lazy):  # lazy regularisation: a phase per interval, on D's optimizer
            name = "D_reg" if len(lazy) == 1 else f"D_reg{every}"
            phases.insert(1 + i, Phase(name, partial(self.d_reg_step, every=every), (self.D,), optimizer="D",
                                       every=every))
        return phases

    def _after_d(self) -> None:
        self.loss.after_d_step(self.D)
        self.augment.end_d_step()

    def _update_ema(self) -> None:
        if self.G_ema is not None:
            self.G_ema.update(self.G)

    def state_dict(self) -> dict:
        return {"tricks": [t.state_dict() if hasattr(t, "state_dict") else {} for t in self.d_tricks],
                "augment": self.augment.state_dict(),
                "lecam": {}} | regs.state_dicts(self.regularisers)

    def load_state_dict(self, state: dict) -> None:
        for t, s in zip(self.d_tricks, state.get("tricks", [])):
            if hasattr(t, "load_state_dict"):
                t.load_state_dict(s)
        self.augment.load_state_dict(state.get("augment", {}))
        regs.load_state_dicts(self.regularisers, state)

    # -- the phases ------------------------------------------------------------------------
    def _noise(self, b: int, device) -> tuple[Tensor, Tensor | None]:
        z = torch.randn(b, self.z_dim, device=device)
        y = torch.randint(0, self.num_classes, (b,), device=device) if self.num_classes else None
        return z, y

    def _D(self, x: Tensor, y: Tensor | None) -> Tensor:
        return self.D(x) if y is None else self.D(x, y)

    def _G(self, z: Tensor, y: Tensor | None) -> Tensor:
        return self.G(z) if y is None else self.G(z, y)

    def _real_and_fake(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor | None, Tensor, Tensor | None]:
        """The real batch (and its labels) and as many samples from G, without G's graph."""
        real = batch["x"]
        real_y = batch["y"] if self.num_classes else None
        z, fake_y = self._noise(real.shape[0], real.device)
        with torch.no_grad():
            fake = self._G(z, fake_y)
        return real, real_y, fake, fake_y

    def d_step(self, batch: dict[str, Tensor], ctx: StepContext) -> dict[str, Tensor]:
        real, real_y, fake, fake_y = self._real_and_fake(batch)
        inp = DInputs(real=real, fake=fake, real_cond=real_y, fake_cond=fake_y)
        for trick in self.d_tricks:
            inp = trick(inp, ctx, algorithm=self)
        inp = inp.replace(real=self.augment(inp.real), fake=self.augment(inp.fake))
        outs_r, outs_f = d_outputs(self._D(inp.real, inp.real_cond)), d_outputs(self._D(inp.fake, inp.fake_cond))
        loss_d = sum(self.loss.d_loss(r, f, inp.real_target, inp.fake_target) for r, f in zip(outs_r, outs_f))
        d_real, d_fake = outs_r[0], outs_f[0]
        out = {"train/loss_d": loss_d.detach()}
        in_step = [r for r in self.regularisers if r.every == 1]
        loss_d = regs.add_terms(loss_d, out, in_step, self.D, inp, d_real, d_fake)
        p_real, p_fake = self.loss.d_output(d_real), self.loss.d_output(d_fake)
        out |= {"loss": loss_d, "train/d_real": p_real.mean(), "train/d_fake": p_fake.mean()}
        if self.d_tricks:  # D's output per provenance: only tricks mix sources (else d_real, d_fake say it)
            out |= per_source(p_real, p_fake, inp)
        out |= d_accuracy(self.loss, p_real, p_fake)
        self.augment.observe(p_real - (self.loss.threshold or 0.0))
        return out | self.augment.stats()

    def d_reg_step(self, batch: dict[str, Tensor], ctx: StepContext, every: int) -> dict[str, Tensor]:
        """The lazy regularisers of interval `every` alone, each scaled by it (StyleGAN2: the same
        strength on average), on a fresh batch without tricks."""
        real, real_y, fake, fake_y = self._real_and_fake(batch)
        inp = DInputs(real=self.augment(real), fake=self.augment(fake), real_cond=real_y, fake_cond=fake_y)
        out = {}
        due = [r for r in self.regularisers if r.every == every]
        loss = regs.add_terms(None, out, due, self.D, inp, None, None, scale=every)
        return {"loss": loss} | out

    def g_step(self, batch: dict[str, Tensor], ctx: StepContext) -> dict[str, Tensor]:
        z, y = self._noise(batch["x"].shape[0], batch["x"].device)
        fake = self._G(z, y)
        outs_f = d_outputs(self._D(self.augment(fake), y))
        outs_r = self._d_on_real(batch) if self.loss.g_needs_real else [None] * len(outs_f)
        loss_g = sum(self.loss.g_loss(f, r) for f, r in zip(outs_f, outs_r))
        out = {"train/loss_g": loss_g.detach()}
        if self.ortho_reg:  # G's one regulariser: BigGAN's orthogonal regularisation of its weights
            ortho = regs.orthogonal(self.G, self.ortho_reg)
            loss_g, out["train/ortho"] = loss_g + ortho, ortho.detach()
        return {"loss": loss_g} | out

    @torch.no_grad()
    def _d_on_real(self, batch: dict[str, Tensor]) -> list[Tensor]:
        """D's outputs on the real batch, augmented as in D's phase, for a relativistic G loss (RpGAN)
        that pairs them with the fakes'. No graph: constants to G, and D is frozen in G's phase."""
        real_y = batch["y"] if self.num_classes else None
        return d_outputs(self._D(self.augment(batch["x"]), real_y))

    def rate_real(self, batch: dict[str, Tensor]) -> Tensor:
        """D's output per real image of `batch`, in `train/d_real`'s units (metrics.overfit)."""
        args = (batch["x"], batch["y"]) if self.num_classes else (batch["x"],)
        return self.loss.d_output(rate_untouched(self.D, *args))

    # -- sampling --------------------------------------------------------------------------
    def sampler(self) -> nn.Module:
        return self.G_ema.module if self.G_ema is not None else self.G

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.z_dim,)

    @torch.no_grad()
    def generate(self, n: int, *, device, seed: int = 0, y: Tensor | None = None, z: Tensor | None = None) -> Tensor:
        """n samples from the (EMA) generator in eval mode, reproducible from `seed`; or those of
        given noise `z` (n, z_dim), e.g. an interpolation path."""
        G = self.sampler()
        was_training = G.training
        G.eval()
        g = torch.Generator().manual_seed(seed)
        chunks = []
        for start in range(0, n, 1024):
            b = min(1024, n - start)
            zz = (torch.randn(b, self.z_dim, generator=g) if z is None else z[start:start + b]).to(device)
            if self.num_classes:
                yy = y[start:start + b].to(device) if y is not None else torch.randint(
                    0, self.num_classes, (b,), generator=g).to(device)
                chunks.append(G(zz, yy))
            else:
                chunks.append(G(zz))
        G.train(was_training)
        return torch.cat(chunks)

    def visuals(self, run) -> dict:
        return noise_visuals(self, run)

    @torch.no_grad()
    def fixed_samples(self, device) -> Tensor:
        G = self.sampler()
        was_training = G.training
        G.eval()
        z = self.fixed_z.to(device)
        out = G(z) if self.fixed_y is None else G(z, self.fixed_y.to(device))
        G.train(was_training)
        return out


def d_accuracy(loss, p_real: Tensor, p_fake: Tensor) -> dict[str, Tensor]:
    """D's accuracy (for the "D makes no more errors" watch), where the loss has a decision line."""
    if loss.threshold is None:
        return {}
    thr = loss.threshold
    return {"train/d_acc": 0.5 * ((p_real > thr).float().mean() + (p_fake < thr).float().mean())}


def per_source(p_real: Tensor, p_fake: Tensor, inp: DInputs) -> dict[str, Tensor]:
    """D's mean output per provenance (real, fake, noisy_real, injected) over everything it saw.
    Packed D (one output per m samples) reports per source only when no pack mixes sources."""
    out = {}
    scores = torch.cat([p_real, p_fake])
    sources = torch.cat([inp.real_source, inp.fake_source])
    if scores.shape[0] != sources.shape[0]:
        return out
    for code, name in SOURCE_NAMES.items():
        mask = sources == code
        if bool(mask.any()):
            out[f"train/d_on_{name}"] = scores[mask].mean()
    return out


def _grid(images: Tensor, nrow: int) -> Tensor:
    from torchvision.utils import make_grid
    return make_grid(images.float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1))


def noise_visuals(gan: GAN, run) -> dict:
    """A fixed-noise grid (one row per class for a conditional G), or for 2D data a scatter plot
    of samples over the true modes."""
    samples = gan.fixed_samples(run.device)
    if samples.dim() == 2:
        from ganlab.metrics.modes import scatter_figure
        data = run.dataset("train")
        pts = gan.generate(2500, device=run.device, seed=0).cpu()
        return {"scatter": scatter_figure(pts, data.centers, data.std)}
    nrow = gan.n_fixed // gan.num_classes if gan.num_classes else 8
    return {"grid": _grid(samples, nrow)}

