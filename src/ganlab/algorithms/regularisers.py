"""D's extra loss terms, the regularisers: one interface, one labelled section each (as in
StyleGAN2's loss.py). A GAN's D phase adds every regulariser's term to D's adversarial loss.

    class MyRegulariser:
        name = "my"        # its key in the algorithm's checkpoint state (if it has state_dict)
        metric = "my"      # logged as train/<metric>; None: not logged
        every = 1          # 1: in D's phase; N > 1: lazily, in a phase of its own (D_reg) every
                           # N steps, its term scaled by N (StyleGAN2: the same strength on average)
        def __call__(self, D, inp, d_real, d_fake) -> Tensor | None: ...

It is called with D (the network: wrap it in FirstOutput for input gradients), what D saw this
step (DInputs: after tricks and augment) and D's first raw output on inp.real and inp.fake (None
in the lazy phase, which runs no adversarial pass), and returns its weighted term, or None for
nothing this step (in D's phase only: a lazy phase needs a term to step on). State to checkpoint: state_dict() / load_state_dict(state).

Where they come from: `loss.adversarial` asks for its penalty (loss=bce_r1: R1, loss=wgan_gp:
the gradient penalty, loss=r3gan: R1 and R2; `penalties()` in losses/adversarial.py, built by PENALTIES below),
`loss.lecam` and `model.algorithm.cutmix_prob` turn on LeCam and CutMix, and any other is a
node under `model.algorithm.regularisers` (conf/regulariser/: `ganlab train +regulariser=r2`).
Adding one: a section here and a YAML in conf/regulariser/.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Protocol

import torch
from torch import Tensor, nn

from ganlab.algorithms.d_inputs import DInputs
from ganlab.algorithms.d_outputs import FirstOutput
from ganlab.errors import ConfigError
from ganlab.losses.adversarial import gradient_penalty
from ganlab.losses.lecam import LeCam
from ganlab.losses.unet_cutmix import cutmix_loss
from ganlab.models.unet_disc import UNetDiscriminator


class Regulariser(Protocol):
    name: str
    metric: str | None
    every: int

    def __call__(self, D: nn.Module, inp: DInputs, d_real: Tensor | None, d_fake: Tensor | None) -> Tensor | None:
        ...


def squared_grad_norm(D: nn.Module, x: Tensor, cond: Tensor | None = None) -> Tensor:
    """E ||grad_x D(x)||^2 over the batch, on D's first output, with the graph for D's update."""
    x = x.detach().requires_grad_(True)
    D = FirstOutput(D)
    out = D(x) if cond is None else D(x, cond)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


def _every(every: int, what: str) -> int:
    if not isinstance(every, int) or every < 1:
        raise ConfigError(f"{what}.every={every!r}: must be an integer >= 1 (1: every D step)")
    return every


# -- R1: gradient penalty on real images -------------------------------------------------------
class R1:
    """gamma/2 * E||grad_x D(x)||^2 on the real images D saw (Mescheder et al. 2018): D's
    surface is kept flat on the data, so training converges to sharp modes. loss=bce_r1
    (loss.adversarial.r1_gamma; r1_every=16: StyleGAN2's lazy R1)."""

    name, metric = "r1", "penalty"  # train/penalty: the loss's penalty, one a loss

    def __init__(self, *, gamma: float = 1.0, every: int = 1):
        self.gamma, self.every = gamma, _every(every, "r1")

    def __call__(self, D, inp, d_real, d_fake):
        return self.gamma / 2 * squared_grad_norm(D, inp.real, inp.real_cond)


# -- R2: gradient penalty on generated images --------------------------------------------------
class R2:
    """gamma/2 * E||grad_x D(G(z))||^2 on the generated images D saw (Roth et al. 2017; with R1,
    R3GAN's pair, Huang et al. 2024: loss=r3gan). On any loss: `ganlab train +regulariser=r2`."""

    name = metric = "r2"

    def __init__(self, *, gamma: float = 1.0, every: int = 1):
        self.gamma, self.every = gamma, _every(every, "r2")

    def __call__(self, D, inp, d_real, d_fake):
        return self.gamma / 2 * squared_grad_norm(D, inp.fake, inp.fake_cond)


# -- Gradient penalty (WGAN-GP) ----------------------------------------------------------------
class GradientPenalty:
    """weight * E(||grad D(x_hat)||_2 - 1)^2 on random interpolates x_hat between the real and the
    generated images (Gulrajani et al. 2017): loss=wgan_gp (loss.adversarial.gp_lambda)."""

    name, metric, every = "gp", "penalty", 1

    def __init__(self, *, weight: float = 10.0):
        self.weight = weight

    def __call__(self, D, inp, d_real, d_fake):
        real, fake, cond = inp.real, inp.fake, inp.real_cond
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
        x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
        D = FirstOutput(D)
        out = D(x_hat) if cond is None else D(x_hat, cond)
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
        return self.weight * gradient_penalty(grad)


# -- LeCam ---------------------------------------------------------------------------------------
class LeCamTerm:
    """LeCam (Tseng et al. 2021): D's raw outputs kept near EMAs of the other side's mean output;
    the formula and its EMAs (training state, in checkpoints) are losses/lecam.py's. loss.lecam."""

    name = metric = "lecam"
    every = 1

    def __init__(self, lecam: LeCam):
        self.lecam = lecam

    def __call__(self, D, inp, d_real, d_fake):
        return self.lecam(d_real, d_fake)

    def state_dict(self) -> dict:
        return self.lecam.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.lecam.load_state_dict(state)


# -- CutMix consistency (U-Net D) ----------------------------------------------------------------
class CutMix:
    """The U-Net D's CutMix regularisation (Schönfeld et al. 2020), on a D step with probability
    `prob`: on a real/fake mix, D's decoder finds the real pixels, its encoder calls the mix
    fake, its per-pixel output is consistent with the mix (losses/unet_cutmix.py).
    model.algorithm.cutmix_prob."""

    name, metric, every = "cutmix", None, 1

    def __init__(self, *, prob: float):
        self.prob = prob

    def __call__(self, D, inp, d_real, d_fake):
        return cutmix_loss(D, inp.real, inp.fake) if torch.rand(()) < self.prob else None


def check_cutmix(prob: float, D: nn.Module) -> float:
    """CutMix needs a D with a per-pixel output (the U-Net D)."""
    if not 0.0 <= prob <= 1.0:
        raise ConfigError(f"model.algorithm.cutmix_prob={prob}: must be in [0, 1]")
    if prob and not isinstance(D, UNetDiscriminator):
        raise ConfigError("model.algorithm.cutmix_prob needs the U-Net discriminator (model/discriminator=unet)")
    return float(prob)


# -- SDPC dictionary learning (a sparse-code D) ---------------------------------------------------
class SparseCodingTerm:
    """weight * the reconstruction error of the real images by D's SDPC front end, from codes
    inferred without a graph (models/sdpc_gan.SparseCodeDiscriminator): its dictionaries learn by
    SDPC's own rule while D's adversarial loss trains the rest. experiment=sdpc_gan_d."""

    name, metric, every = "sdpc", "sdpc_dict_loss", 1

    def __init__(self, *, weight: float = 1.0):
        if not weight > 0:
            raise ConfigError(f"regularisers.sdpc.weight={weight}: must be > 0")
        self.weight = weight

    def __call__(self, D, inp, d_real, d_fake):
        sdpc = getattr(D, "sdpc", None)
        if sdpc is None:
            raise ConfigError("regularisers.sdpc needs a D with an SDPC front end "
                              "(model/discriminator=sdpc, as experiment=sdpc_gan_d)")
        x, _ = sdpc.split_mean(inp.real.detach())
        with torch.no_grad():
            codes, _ = sdpc.infer(x)
        return self.weight * sdpc.dictionary_loss(x, codes)[0]


# -- Orthogonal regularisation of G (BigGAN) ------------------------------------------------------
# G's own term, not one of D's: the GAN's G phase adds it (model.algorithm.ortho_reg).
def orthogonal(G: nn.Module, strength: float) -> Tensor:
    """BigGAN's off-diagonal orthogonal regularisation (Brock et al. 2019, eq. 3):
    strength * sum_W ||W W^T * (1 - I)||_F^2 over G's conv and linear weights W, each as
    (out, in * k * k); the trainable weight under spectral norm. Only the rows' cosine similarity
    is penalised, not their norms. Embeddings are left out (as in BigGAN)."""
    total = None
    for m in G.modules():
        if not isinstance(m, nn.Conv2d | nn.Linear):
            continue
        w = (m.parametrizations.weight.original if nn.utils.parametrize.is_parametrized(m, "weight")
             else m.weight).flatten(1)
        gram = w @ w.t()
        term = (gram * (1 - torch.eye(gram.shape[0], device=w.device, dtype=w.dtype))).pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        raise ConfigError("model.algorithm.ortho_reg: G has no conv or linear weights to regularise; set it to 0")
    return strength * total


# -- one D's list ----------------------------------------------------------------------------------
# what an adversarial loss's penalties() names (losses/adversarial.py)
PENALTIES = {"r1": R1, "r2": R2, "gp": GradientPenalty}


def d_regularisers(*, loss, lecam: LeCam | None, cutmix_prob: float,
                   extra: Mapping | Iterable | None) -> list[Regulariser]:
    """One D's regularisers, in the order their terms are added and draw random numbers: LeCam,
    CutMix, the loss's penalty, then model.algorithm.regularisers (a map name -> node, or a list)."""
    regs: list = [LeCamTerm(lecam)] if lecam else []
    if cutmix_prob:
        regs.append(CutMix(prob=cutmix_prob))
    regs += [PENALTIES[name](**kwargs) for name, kwargs in loss.penalties().items()]
    extra = extra.values() if isinstance(extra, Mapping) else (extra or ())
    return regs + [r for r in extra if r is not None]


def copies(regs: list[Regulariser]) -> list[Regulariser]:
    """The same regularisers for another D, with state of their own (LeCam's EMAs)."""
    return copy.deepcopy(regs)


def lazy_intervals(regs: Iterable[Regulariser]) -> list[int]:
    """The intervals of the lazy regularisers: one D_reg phase each."""
    return sorted({r.every for r in regs if r.every > 1})


def add_terms(loss: Tensor | None, out: dict, regs: Iterable[Regulariser], D: nn.Module, inp: DInputs,
              d_real: Tensor | None, d_fake: Tensor | None, *, scale: int = 1,
              suffix: str = "") -> Tensor | None:
    """`loss` plus each regulariser's term (times `scale`), its metric into `out` as
    train/<metric><suffix>."""
    for r in regs:
        term = r(D, inp, d_real, d_fake)
        if term is None:
            continue
        if scale != 1:
            term = term * scale
        if r.metric:
            out[f"train/{r.metric}{suffix}"] = term.detach()
        loss = term if loss is None else loss + term
    return loss


def state_dicts(regs: Iterable[Regulariser]) -> dict[str, dict]:
    return {r.name: r.state_dict() for r in regs if hasattr(r, "state_dict")}


def load_state_dicts(regs: Iterable[Regulariser], state: dict) -> None:
    for r in regs:
        if hasattr(r, "load_state_dict"):
            r.load_state_dict(state[r.name])
