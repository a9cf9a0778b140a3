"""The GAN step for unpaired translation (aNet, CycleGAN): two generators A->B and B->A, two
discriminators, adversarial + cycle-consistency + identity (+ the seed's "perceptual" L1 between
output and input) losses, an image pool per direction.

Phases: G (both Gs, every `g_every` steps) and D (both Ds), in either order, each generator
run once per input and step — 6 generator passes with the identity loss (4 without):
- order=g_first, the reference CycleGAN's: G's phase keeps its fakes, detached, and D's phase
  trains on them (D sees G's output from before G's update, as in the reference);
- order=d_first (gan.py's order): D's phase runs the generators with their graph, trains on the
  detached fakes and hands the outputs to G's phase, which trains against the updated D. The
  graph is held through D's phase: with trainer.accumulate=k, k graphs at once.
A D step on a step without G's phase (g_every > 1) makes fakes without a graph.

Generators return dicts: {"out"} (CycleGAN) or {"out", "gen", "attn"} (aNet). Discriminators
return a logit map (PatchGAN) or {"global", "pixel"} (U-Net D, Schönfeld et al. 2020).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from ganlab.algorithms import regularisers as regs
from ganlab.algorithms.augment import NoAugment
from ganlab.algorithms.base import Phase, StepContext
from ganlab.algorithms.d_inputs import DInputs
from ganlab.algorithms.d_outputs import FirstOutput, d_outputs, rate_untouched
from ganlab.algorithms.gan import d_accuracy, per_source
from ganlab.algorithms.image_pool import ImagePool
from ganlab.errors import ConfigError
from ganlab.losses import translation as losses
from ganlab.losses.lecam import LeCam, lecam_or_none


class TranslationGAN:
    data_kind = "unpaired"  # trains on batches of A and B images (training/data_kind.py)

    def __init__(self, *, G_AB: nn.Module, G_BA: nn.Module, D_A: nn.Module, D_B: nn.Module, loss,
                 lambda_cycle: float = 10.0,     # weight of ||G_BA(G_AB(a)) - a||_1 (both ways)
                 lambda_identity: float = 0.5,   # x lambda_cycle, weight of ||G_AB(b) - b||_1 (CycleGAN)
                 lambda_perceptual: float = 0.0,  # seed 000's "perceptual" term: ||G_AB(a) - a||_1
                 lambda_mask: float = 0.0,       # L1 sparsity on the attention mask (aNet), 0 = off
                 pool_size: int = 50,            # image pool per direction (0 = current fakes only)
                 g_every: int = 1,               # G updates once per g_every D updates (n_critic)
                 cutmix_prob: float = 0.0,       # U-Net D: chance per D step of the CutMix regularisation
                 d_tricks: Sequence = (),
                 augment=None,                   # the augment group: one pipeline (one ADA p) for both Ds
                 lecam: LeCam | None = None,     # LeCam regularisation, with EMAs per D (weight 0 = off)
                 regularisers=None,              # more of D's regularisers: name -> one (conf/regulariser/)
                 order: str = "d_first",         # d_first (what configs without `order` meant) | g_first
                 n_visuals: int = 4):
        if getattr(loss, "g_needs_real", False):  # its G phase has no real batch to pair fakes with
            raise ConfigError(f"loss: {type(loss).__name__} (loss=rpgan, r3gan) pairs G's fakes with D's outputs "
                              "on real images: model=dcgan, cgan or mlp only, not the translation models "
                              "(agan, cyclegan); choose another loss")
        self.G_AB, self.G_BA, self.D_A, self.D_B, self.loss = G_AB, G_BA, D_A, D_B, loss
        self.l_cyc, self.l_id, self.l_perc, self.l_mask = lambda_cycle, lambda_identity, lambda_perceptual, lambda_mask
        self.pools = {"A": ImagePool(size=pool_size), "B": ImagePool(size=pool_size)}
        self.d_tricks = list(d_tricks)
        self.augment = augment if augment is not None else NoAugment()
        self.n_visuals = n_visuals
        self.g_every = g_every
        # each D its own (LeCam: EMAs per D). No lazy phase here: every one runs in D's phase, every step
        cutmix_prob = regs.check_cutmix(cutmix_prob, D_A)
        mine = regs.d_regularisers(loss=loss, lecam=lecam_or_none(lecam), cutmix_prob=cutmix_prob, extra=regularisers)
        self.regularisers = {"A": mine, "B": regs.copies(mine)}
        if order not in ("g_first", "d_first"):
            raise ConfigError(f"model.algorithm.order={order!r}: choose g_first or d_first")
        self.d_first = order == "d_first"
        self._handed: list[tuple[tuple, dict, dict]] = []  # generator outputs passed between the phases of a step
        self._g_steps = 0  # G phases run: with the step, which weights `visuals` last drew
        self._drawn: tuple[tuple, dict] | None = None

    # -- what the loop needs to know -------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"G_AB": self.G_AB, "G_BA": self.G_BA, "D_A": self.D_A, "D_B": self.D_B}

    def phases(self) -> list[Phase]:
        g = Phase("G", self.g_step, (self.G_AB, self.G_BA), every=self.g_every)
        d = Phase("D", self.d_step, (self.D_A, self.D_B), after=self._after_d)
        return [d, g] if self.d_first else [g, d]

    def _after_d(self) -> None:
        self.loss.after_d_step(self.D_A)
        self.loss.after_d_step(self.D_B)
        self.augment.end_d_step()

    def state_dict(self) -> dict:
        return {"pools": {k: p.state_dict() for k, p in self.pools.items()},
                "tricks": [t.state_dict() if hasattr(t, "state_dict") else {} for t in self.d_tricks],
                "augment": self.augment.state_dict(),
                **_by_name({k: regs.state_dicts(r) for k, r in self.regularisers.items()}, default={"lecam": {}})}

    def load_state_dict(self, state: dict) -> None:
        for k, p in self.pools.items():
            p.load_state_dict(state["pools"][k])
        for t, s in zip(self.d_tricks, state.get("tricks", [])):
            if hasattr(t, "load_state_dict"):
                t.load_state_dict(s)
        self.augment.load_state_dict(state.get("augment", {}))
        for k, r in self.regularisers.items():
            regs.load_state_dicts(r, {name: state[name][k] for name in regs.state_dicts(r)})

    # -- D phase ---------------------------------------------------------------------------
    def _d_side(self, D: nn.Module, real: Tensor, fake: Tensor, name: str, ctx: StepContext) -> dict[str, Tensor]:
        inp = DInputs(real=real, fake=fake)
        for trick in self.d_tricks:
            inp = trick(inp, ctx, algorithm=_OneD(D))
        inp = inp.replace(real=self.augment(inp.real), fake=self.augment(inp.fake))
        outs_r, outs_f = d_outputs(D(inp.real)), d_outputs(D(inp.fake))
        loss = sum(self.loss.d_loss(r, f, inp.real_target, inp.fake_target) for r, f in zip(outs_r, outs_f))
        stats = {}
        loss = regs.add_terms(loss, stats, self.regularisers[name.upper()], D, inp, outs_r[0], outs_f[0],
                              suffix=f"_{name}")
        p_real, p_fake = self.loss.d_output(outs_r[0]), self.loss.d_output(outs_f[0])
        self.augment.observe(p_real - (self.loss.threshold or 0.0))
        stats[f"train/d_real_{name}"], stats[f"train/d_fake_{name}"] = p_real.mean(), p_fake.mean()
        return {"loss": loss, "p_real": p_real, "p_fake": p_fake, "inp": inp, **stats}

    def _hand_over(self, a: Tensor, b: Tensor, ctx: StepContext, ab: dict, ba: dict) -> None:
        self._handed.append((_key(a, b, ctx), ab, ba))

    def _take_over(self, a: Tensor, b: Tensor, ctx: StepContext) -> tuple[dict, dict] | None:
        """(G_AB(a), G_BA(b)) the other phase of this step made from this very (micro-)batch."""
        key = _key(a, b, ctx)
        self._handed = [h for h in self._handed if h[0][0] == ctx.step]  # none outlives its step
        for i, (k, ab, ba) in enumerate(self._handed):
            if k == key:
                del self._handed[i]
                return ab, ba
        return None

    def d_step(self, batch: dict[str, Tensor], ctx: StepContext) -> dict[str, Tensor]:
        a, b = batch["A"], batch["B"]
        made = self._take_over(a, b, ctx)
        if made is None:
            g_follows = self.d_first and (ctx.step + 1) % self.g_every == 0
            with _graph_of(self.G_AB, self.G_BA) if g_follows else torch.no_grad():
                made = self.G_AB(a), self.G_BA(b)
            if g_follows:  # G's phase trains through these outputs
                self._hand_over(a, b, ctx, *made)
        fake_b, fake_a = made[0]["out"].detach(), made[1]["out"].detach()
        side_b = self._d_side(self.D_B, b, self.pools["B"].query(fake_b), "b", ctx)
        side_a = self._d_side(self.D_A, a, self.pools["A"].query(fake_a), "a", ctx)
        loss = 0.5 * (side_a.pop("loss") + side_b.pop("loss"))  # CycleGAN halves D's objective
        out = {"loss": loss, "train/loss_d": loss.detach()}
        p_real = torch.cat([side_a.pop("p_real"), side_b.pop("p_real")])
        p_fake = torch.cat([side_a.pop("p_fake"), side_b.pop("p_fake")])
        inp_a, inp_b = side_a.pop("inp"), side_b.pop("inp")
        out |= side_a | side_b
        out["train/d_real"], out["train/d_fake"] = p_real.mean(), p_fake.mean()
        both = DInputs(real=torch.cat([inp_a.real, inp_b.real]), fake=torch.cat([inp_a.fake, inp_b.fake]),
                       real_source=torch.cat([inp_a.real_source, inp_b.real_source]),
                       fake_source=torch.cat([inp_a.fake_source, inp_b.fake_source]))
        out |= per_source(p_real, p_fake, both) | d_accuracy(self.loss, p_real, p_fake)
        return out | self.augment.stats()

    # -- G phase ---------------------------------------------------------------------------
    def _adv(self, D, fake: Tensor) -> Tensor:
        return sum(self.loss.g_loss(o) for o in d_outputs(D(self.augment(fake))))

    def g_step(self, batch: dict[str, Tensor], ctx: StepContext) -> dict[str, Tensor]:
        self._g_steps += 1
        a, b = batch["A"], batch["B"]
        made = self._take_over(a, b, ctx) if self.d_first else None
        ab, ba = made or (self.G_AB(a), self.G_BA(b))
        if not self.d_first:  # D's phase, next, trains on these
            self._hand_over(a, b, ctx, {"out": ab["out"].detach()}, {"out": ba["out"].detach()})
        rec_a, rec_b = self.G_BA(ab["out"])["out"], self.G_AB(ba["out"])["out"]
        adv = self._adv(self.D_B, ab["out"]) + self._adv(self.D_A, ba["out"])
        cyc = losses.cycle(rec_a, a, rec_b, b)
        loss = adv + self.l_cyc * cyc
        out = {"train/loss_g_adv": adv.detach(), "train/loss_cycle": cyc.detach()}
        if self.l_id:
            idt = losses.identity(self.G_AB(b)["out"], b, self.G_BA(a)["out"], a)
            loss = loss + self.l_cyc * self.l_id * idt
            out["train/loss_identity"] = idt.detach()
        if self.l_perc:
            perc = losses.perceptual(ab["out"], a, ba["out"], b)
            loss = loss + self.l_perc * perc
            out["train/loss_perceptual"] = perc.detach()
        if "attn" in ab:
            if self.l_mask:
                loss = loss + self.l_mask * losses.mask_sparsity(ab["attn"], ba["attn"])
            out["train/mask_coverage"] = 0.5 * (ab["attn"].detach().mean() + ba["attn"].detach().mean())
        out |= {"loss": loss, "train/loss_g": loss.detach()}
        return out

    def rate_real(self, batch: dict[str, Tensor]) -> Tensor:
        """D_A's output per real A image and D_B's per real B image (metrics.overfit)."""
        return torch.cat([self.loss.d_output(rate_untouched(self.D_A, batch["A"])),
                          self.loss.d_output(rate_untouched(self.D_B, batch["B"]))])

    # -- inference -------------------------------------------------------------------------
    @torch.no_grad()
    def translate(self, x: Tensor, direction: str = "AtoB") -> dict[str, Tensor]:
        G = {"AtoB": self.G_AB, "BtoA": self.G_BA}.get(direction)
        if G is None:
            raise ConfigError(f"direction={direction!r}: choose AtoB or BtoA")
        was = G.training
        G.eval()
        out = G(x)
        G.train(was)
        return out

    def visuals(self, run) -> dict[str, Tensor]:
        """Per direction, one row per image: input | output | attention | raw generator |
        reconstruction | identity. Drawn once per step and weights: the closing sample grid and
        final_samples ask for the same panels."""
        key = (run.step, self._g_steps)
        if self._drawn is None or self._drawn[0] != key:
            self._drawn = key, self._draw(run)
        return dict(self._drawn[1])

    def _draw(self, run) -> dict[str, Tensor]:
        from torchvision.utils import make_grid

        from ganlab.algorithms.panels import label_columns
        data = run.dataset("train")
        batch = {k: torch.stack([data[i][k] for i in range(self.n_visuals)]).to(run.device) for k in ("A", "B")}
        grids = {}
        for direction, src, tgt in (("AtoB", "A", "B"), ("BtoA", "B", "A")):
            back = "BtoA" if direction == "AtoB" else "AtoB"
            fwd = self.translate(batch[src], direction)
            cols, labels = [batch[src], fwd["out"]], [(f"input {src}", src), (f"output {tgt}", "out")]
            if "attn" in fwd:
                cols += [fwd["attn"].expand_as(batch[src]) * 2 - 1, fwd["gen"]]
                labels += [("mask", "mask"), ("raw G", "G")]
            cols += [self.translate(fwd["out"], back)["out"], self.translate(batch[tgt], direction)["out"]]
            labels += [("cycle", "cyc"), (f"identity {tgt}", "id")]
            tiles = torch.stack(cols, dim=1).flatten(0, 1)  # row-major: one image per row
            grid = make_grid(tiles.float().cpu(), nrow=len(cols), normalize=True, value_range=(-1, 1))
            grids[direction] = label_columns(grid, labels)
        return grids


@contextmanager
def _graph_of(*modules: nn.Module):
    """Record the modules' graph though the running phase froze them (D's phase, order=d_first)."""
    params = [p for m in modules for p in m.parameters()]
    was = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    try:
        yield
    finally:
        for p, w in zip(params, was):
            p.requires_grad_(w)


def _by_name(states: dict[str, dict], default: dict) -> dict:
    """Per-D regulariser states {D: {name: state}} as the checkpoint keeps them: {name: {D: state}}
    ("lecam": {"A": ..., "B": ...}; {} when off)."""
    out = dict(default)
    for d, by_name in states.items():
        for name, state in by_name.items():
            out.setdefault(name, {})[d] = state
    return out


def _key(a: Tensor, b: Tensor, ctx: StepContext) -> tuple:
    """Which (micro-)batch of which step: micro-batches are views, so storage and offset tell."""
    return (ctx.step, a.data_ptr(), tuple(a.shape), b.data_ptr(), tuple(b.shape))


class _OneD:
    """What tricks see as `algorithm`: one D (lying-positive rates fakes with it)."""

    def __init__(self, D):
        self.D = FirstOutput(D)
