"""Sparse Deep Predictive Coding (models/sdpc.py) as a one-phase algorithm: each step infers the
sparse codes of a batch (FISTA with top-down feedback, no gradient), then takes one optimizer
step on the dictionaries' reconstruction error of those codes (phase `model`, optimizer
schedule.optimizer.model) and renormalises the atoms. The codes are recomputed for every batch:
a checkpoint holds the dictionaries, the optimizer and the RNG, and nothing else is needed.

It draws no samples (no `generate`: it is a coder, not a generative model); its panels are the
dictionaries (layer 1's atoms as RGB patches, deeper layers' atoms as their pixel-space receptive
fields through the generative path), reconstructions and the reconstruction error over the
inference iterations; metrics/sparse_coding.py scores held-out reconstructions and sparsity."""

from __future__ import annotations

import torch
from torch import Tensor

from ganlab.algorithms.augment import NoAugment
from ganlab.algorithms.base import Phase, StepContext
from ganlab.errors import ConfigError
from ganlab.models.sdpc import SDPC


class SparseCoding:
    def __init__(self, *, net: SDPC, augment=None,
                 n_shown: int = 8):            # images in the reconstruction panel
        if augment is not None and type(augment) is not NoAugment:
            raise ConfigError(f"augment={type(augment).__name__}: augmentation acts on what a GAN's discriminator "
                              f"sees, and model=sdpc has none: use augment=none")
        self.net, self.n_shown = net, n_shown

    def modules(self):
        return {"net": self.net}

    def phases(self) -> list[Phase]:
        return [Phase("model", self.step, (self.net,), after=self.net.renormalise)]

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def step(self, batch: dict[str, Tensor], ctx: StepContext) -> dict[str, Tensor]:
        x, _ = self.net.split_mean(batch["x"])
        with torch.no_grad():
            codes, _ = self.net.infer(x)
        loss, errors = self.net.dictionary_loss(x, codes)
        out = {"loss": loss, "train/loss_sdpc": loss.detach(), "train/sdpc_recon_mse": errors[0]}
        for i, (code, err) in enumerate(zip(codes, errors), start=1):
            out[f"train/sdpc_sparsity_l{i}"] = (code > 0).float().mean()
            if i > 1:
                out[f"train/sdpc_recon_mse_l{i}"] = err
        return out

    # -- evaluation -------------------------------------------------------------------------
    def code_stats(self, x: Tensor) -> dict[str, Tensor]:
        """Per image: reconstruction errors and sparsity (SDPC.code_stats), for metrics/sparse_coding.py."""
        return self.net.code_stats(x)

    def visuals(self, run) -> dict:
        data = run.dataset("test") or run.dataset("train")
        x = torch.stack([data[i]["x"] for i in range(min(self.n_shown, len(data)))]).to(run.device)
        return sdpc_panels(self.net, x)


@torch.no_grad()
def sdpc_panels(net: SDPC, x: Tensor) -> dict:
    """The dictionaries, reconstructions (rows: input, layer 1's, the top code's through the
    generative path) and the reconstruction error over inference iterations."""
    from torchvision.utils import make_grid

    from ganlab.algorithms.panels import label_columns
    out = {}
    for i in range(net.n_layers):
        fields = atom_fields(net, i)
        out[f"atoms_l{i + 1}"] = make_grid(fields, nrow=int(len(fields) ** 0.5 + 0.999), normalize=True,
                                           scale_each=True, padding=1)
    xc, mean = net.split_mean(x)
    codes, curve = net.infer(xc, track=True)
    rec1 = net.decode(0, codes[0], net.atoms(0), xc.shape[-2:]) + mean
    rec_top = net.generate_down(codes[-1], hw=xc.shape[-2:]) + mean
    rows = torch.stack([x, rec1, rec_top], dim=1).flatten(0, 1)  # one row per image: input, l1, top
    grid = make_grid(rows.clamp(-1, 1).float().cpu(), nrow=3, normalize=True, value_range=(-1, 1))
    out["reconstructions"] = label_columns(grid, [("input", "in"), ("layer 1", "l1"), ("top-down", "top")])
    out["inference"] = inference_figure(curve)
    return out


def atom_fields(net: SDPC, i: int) -> Tensor:
    """Layer i's atoms in pixel space: each atom alone at the centre of its code map, decoded
    through the generative path (layer 1: the atoms themselves). (atoms, C, h, w), CPU."""
    if i == 0:
        return net.atoms(0).detach().float().cpu()
    w = net.atoms(i).detach()
    n = w.shape[0]
    hw = (1 + 2 * net.dicts[i].shape[-1] * net.strides[i],) * 2  # a code map big enough for one atom's field
    code = w.new_zeros(n, n, *hw)
    code[torch.arange(n), torch.arange(n), hw[0] // 2, hw[1] // 2] = 1.0
    field = net.generate_down(code, from_layer=i, detach=True)
    nz = field.abs().sum(dim=(0, 1))  # crop to where any atom reaches
    rows, cols = nz.sum(1).nonzero(), nz.sum(0).nonzero()
    return field[:, :, rows.min():rows.max() + 1, cols.min():cols.max() + 1].float().cpu()


def inference_figure(curve: list[float]):
    """Layer 1's reconstruction MSE (pixels) after each FISTA iteration (a matplotlib Figure)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.plot(range(1, len(curve) + 1), curve, marker=".")
    ax.set_xlabel("inference iteration (FISTA)")
    ax.set_ylabel("layer-1 reconstruction MSE")
    ax.set_yscale("log")
    ax.set_title("SDPC inference")
    fig.tight_layout()
    return fig

