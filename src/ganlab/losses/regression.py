"""The objectives of the non-GAN baselines (algorithms/flow.py, ddpm.py, vae.py).

MSE: the flow-matching velocity regression and DDPM's "simple" epsilon loss (Ho et al. 2020),
mean over every element. ELBO: the VAE's negative evidence lower bound as the course notes
weigh it, rec_weight x reconstruction + kl_weight x KL(q(z|x) || N(0, I)), both summed over a
sample's dimensions and averaged over the batch (squared error: a Gaussian decoder, whose
variance rec_weight sets: 1 / (2 sigma^2))."""

from __future__ import annotations

import torch
from torch import Tensor

from ganlab.errors import ConfigError


class MSE:
    def __call__(self, pred: Tensor, target: Tensor) -> Tensor:
        return torch.nn.functional.mse_loss(pred.float(), target.float())


class ELBO:
    def __init__(self, *, rec_weight: float = 1.0,   # the notes' alpha_rec
                 kl_weight: float = 1.0):             # the notes' alpha_KL (beta-VAE's beta)
        if rec_weight <= 0 or kl_weight < 0:
            raise ConfigError(f"rec_weight={rec_weight}, kl_weight={kl_weight}: need rec_weight > 0, kl_weight >= 0")
        self.rec_weight, self.kl_weight = rec_weight, kl_weight

    def __call__(self, recon: Tensor, x: Tensor, mu: Tensor, logvar: Tensor) -> dict[str, Tensor]:
        rec = (recon.float() - x.float()).pow(2).flatten(1).sum(1).mean()
        kl = 0.5 * (mu.float().pow(2) + logvar.float().exp() - 1 - logvar.float()).flatten(1).sum(1).mean()
        return {"loss": self.rec_weight * rec + self.kl_weight * kl,
                "train/loss_rec": rec.detach(), "train/loss_kl": kl.detach()}
