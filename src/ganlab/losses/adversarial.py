"""Adversarial losses. Each takes D's raw outputs (logits / critic values, any shape (B, ...)).

Conventions:
- `d_loss(real, fake, real_target=None, fake_target=None)` is minimised by D.
  Targets (per sample, shape (B,)) are where label smoothing / flipping lands; only the
  probabilistic losses (bce, lsgan) use them, the others document that they ignore them.
- `g_loss(fake, real=None)` is minimised by G. A relativistic loss (RpGAN) sets
  `g_needs_real = True`: G's phase then also passes D's outputs on a real batch (augmented as in
  D's phase, without a graph: G's gradient flows through the fakes only); the others ignore `real`.
- `penalties()` names the regularisers of D the loss asks for, name -> keyword arguments
  (WGAN-GP: {"gp": ...}); algorithms/regularisers.py builds them (PENALTIES) and owns their maths.
- `after_d_step(D)` runs after D's optimizer step (WGAN weight clipping).
- `d_output(x)` maps raw outputs to what `train/d_real` / `train/d_fake` report:
  probabilities for bce, raw values otherwise.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _per_sample(t: Tensor) -> Tensor:
    """Mean over everything but the batch: patch / per-pixel outputs become one score a sample."""
    return t.flatten(1).mean(1) if t.dim() > 1 else t


def _targets(target: Tensor | None, like: Tensor, default: float) -> Tensor:
    if target is None:
        return torch.full_like(like, default)
    # broadcast per-sample targets over patch / pixel outputs
    return target.to(like.dtype).view(-1, *([1] * (like.dim() - 1))).expand_as(like)


class AdversarialLoss:
    # where d_output separates "real" from "fake" (for D's accuracy); None: no such line (WGAN)
    threshold: float | None = 0.0
    # D's loss when it outputs `threshold` on every sample (a D guessing at random); None: unknown
    d_chance: float | None = None
    # g_loss needs D's outputs on real images too (relativistic losses)
    g_needs_real: bool = False

    def d_loss(self, real: Tensor, fake: Tensor, real_target: Tensor | None = None,
               fake_target: Tensor | None = None) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        raise NotImplementedError

    def penalties(self) -> dict[str, dict]:
        return {}

    def after_d_step(self, D: nn.Module) -> None:
        return None

    def d_output(self, out: Tensor) -> Tensor:
        return _per_sample(out.detach().float())


class BCE(AdversarialLoss):
    """Original GAN loss with the non-saturating generator loss -log D(G(z)).
    `r1_gamma` > 0 adds the R1 penalty gamma/2 * E||grad_x D(x)||^2 on real data (Mescheder et al.
    2018), which makes training converge to sharp modes instead of circling around them."""

    threshold = 0.5
    d_chance = 2 * math.log(2)  # log 2 on the reals + log 2 on the fakes

    def __init__(self, *, r1_gamma: float = 0.0,
                 r1_every: int = 1):  # > 1: lazy R1 every N steps, scaled by N (StyleGAN2 uses 16)
        self.r1_gamma, self.r1_every = r1_gamma, max(1, r1_every)

    def penalties(self):
        return {"r1": {"gamma": self.r1_gamma, "every": self.r1_every}} if self.r1_gamma else {}

    def d_loss(self, real, fake, real_target=None, fake_target=None):
        return (F.binary_cross_entropy_with_logits(real, _targets(real_target, real, 1.0))
                + F.binary_cross_entropy_with_logits(fake, _targets(fake_target, fake, 0.0)))

    def g_loss(self, fake, real=None):
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))

    def d_output(self, out):
        return torch.sigmoid(_per_sample(out.detach().float()))


class LSGAN(AdversarialLoss):
    """Least squares GAN (Mao et al. 2017), a=0, b=c=1: scale * (MSE(real, 1) + MSE(fake, 0)) for
    D, scale * MSE(fake, 1) for G. Mao et al. keep 1/2 (the default); the CycleGAN reference code
    uses plain MSE (scale 1) and halves D's objective itself, as TranslationGAN does."""

    threshold = 0.5

    def __init__(self, *, scale: float = 0.5):
        self.scale = scale
        self.d_chance = scale * 0.5  # 0.25 on the reals + 0.25 on the fakes

    def d_loss(self, real, fake, real_target=None, fake_target=None):
        return self.scale * (F.mse_loss(real, _targets(real_target, real, 1.0))
                             + F.mse_loss(fake, _targets(fake_target, fake, 0.0)))

    def g_loss(self, fake, real=None):
        return self.scale * F.mse_loss(fake, torch.ones_like(fake))


class Hinge(AdversarialLoss):
    """Hinge loss (SAGAN / BigGAN). Ignores label targets."""

    d_chance = 2.0  # relu(1 - 0) + relu(1 + 0)

    def d_loss(self, real, fake, real_target=None, fake_target=None):
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def g_loss(self, fake, real=None):
        return -fake.mean()


class WGAN(AdversarialLoss):
    """Wasserstein critic loss mean(D(G(z))) - mean(D(x)); weights clipped to [-clip, clip]
    after every critic step (Arjovsky et al. 2017). Ignores label targets."""

    threshold = None

    def __init__(self, *, clip: float = 0.01):
        self.clip = clip

    def d_loss(self, real, fake, real_target=None, fake_target=None):
        return fake.mean() - real.mean()

    def g_loss(self, fake, real=None):
        return -fake.mean()

    @torch.no_grad()
    def after_d_step(self, D):
        if self.clip and self.clip > 0:
            for p in D.parameters():
                p.clamp_(-self.clip, self.clip)


class WGANGP(WGAN):
    """WGAN with gradient penalty lambda * (||grad_x_hat D(x_hat)||_2 - 1)^2 on random
    interpolates x_hat between real and fake (Gulrajani et al. 2017). No clipping."""

    def __init__(self, *, gp_lambda: float = 10.0):
        super().__init__(clip=0.0)
        self.gp_lambda = gp_lambda

    def penalties(self):
        return {"gp": {"weight": self.gp_lambda}}


class RpGAN(AdversarialLoss):
    """Relativistic pairing GAN (Jolicoeur-Martineau 2019), R3GAN's loss (Huang et al. 2024): the
    i-th real and the i-th fake of a batch form a pair, D minimises mean softplus(D(fake) - D(real)),
    G mean softplus(D(real) - D(fake)). Patch / pixel outputs are one score a sample first. Ignores
    label targets. r1_gamma, r2_gamma > 0 ask for R1 (reals) and R2 (fakes), each gamma/2 *
    E||grad_x D||^2 (loss=r3gan: one gamma for both, as the paper).

    Only differences of D's outputs count (D + c has the same loss), so no output line tells real
    from fake: threshold None, like WGAN, and no train/d_acc. D's accuracy would be the fraction of
    pairs with D(real) > D(fake), which the per-sample accuracy against a line cannot express."""

    threshold = None
    d_chance = math.log(2)  # softplus(0): D rates every real like its fake
    g_needs_real = True

    def __init__(self, *, r1_gamma: float = 0.0, r2_gamma: float = 0.0, r1_every: int = 1, r2_every: int = 1):
        self.r1_gamma, self.r2_gamma, self.r1_every, self.r2_every = r1_gamma, r2_gamma, r1_every, r2_every

    def penalties(self):
        wanted = {"r1": (self.r1_gamma, self.r1_every), "r2": (self.r2_gamma, self.r2_every)}
        return {name: {"gamma": gamma, "every": every} for name, (gamma, every) in wanted.items() if gamma}

    @staticmethod
    def _margin(a: Tensor, b: Tensor) -> Tensor:
        """D(a_i) - D(b_i) per pair i."""
        a, b = _per_sample(a), _per_sample(b)
        if a.shape != b.shape:
            raise ValueError(f"RpGAN pairs real and generated samples: D's outputs {tuple(a.shape)} and "
                             f"{tuple(b.shape)} differ (a trick changed one side's batch size)")
        return a - b

    def d_loss(self, real, fake, real_target=None, fake_target=None):
        return F.softplus(self._margin(fake, real)).mean()

    def g_loss(self, fake, real=None):
        if real is None:
            raise ValueError("RpGAN's G loss needs D's outputs on real images (g_needs_real)")
        return F.softplus(self._margin(real, fake)).mean()


def gradient_penalty(grad: Tensor) -> Tensor:
    """(||g||_2 - 1)^2 averaged over the batch; g has shape (B, ...)."""
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()

