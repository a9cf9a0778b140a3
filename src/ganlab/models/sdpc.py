"""Sparse Deep Predictive Coding (Boutin et al., PLOS Comp. Biol. 2020, arXiv 1902.07651): a
hierarchy of convolutional dictionaries. Layer i explains the code of the layer below,
gamma_{i-1} ~ D_i^T gamma_i (gamma_0 = the image), with a sparse non-negative code gamma_i. Its codes are
not computed by a feed-forward pass but inferred: FISTA steps on each layer's loss

    1/2 ||gamma_{i-1} - D_i^T gamma_i||^2 + k_i/2 ||gamma_i - D_{i+1}^T gamma_{i+1}||^2 + lambda_i ||gamma_i||_1

(bottom-up reconstruction error, top-down prediction from the layer above with feedback strength
k_i, sparsity), all layers updated together from the previous iterate. D_i^T gamma is a transposed
convolution (the generative, top-down path), D_i x a convolution (the bottom-up one); atoms have
unit L2 norm. The dictionaries learn by gradient on the reconstruction error of the inferred
(fixed) codes: `dictionary_loss`."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.errors import ConfigError


class SDPC(nn.Module):
    data_kind = "images"  # what data it works on (training/data_kind.py)

    def __init__(self, *, channels: int = 3, image_size: int = 32,
                 layers=({"atoms": 32, "size": 5, "stride": 2, "sparsity": 0.1, "feedback": 0.5},
                         {"atoms": 64, "size": 5, "stride": 2, "sparsity": 0.1, "feedback": 0.0}),
                 n_iter: int = 20,          # FISTA iterations per inference
                 centre: bool = True,       # code x minus its per-image, per-channel mean (a dark
                                            # background costs no atoms); decoding adds it back
                 whiten: float = 0.0):      # > 0: minus a local mean instead (Gaussian of this sigma,
                                            # px): the code sees edges, as the paper's whitened inputs
        super().__init__()
        if not layers:
            raise ConfigError("model.sdpc.layers: give at least one layer ({atoms, size, stride, sparsity, feedback})")
        if not isinstance(n_iter, int) or n_iter < 1:
            raise ConfigError(f"n_iter={n_iter!r}: must be an integer >= 1")
        if whiten < 0:
            raise ConfigError(f"whiten={whiten}: the sigma of the local mean in pixels, >= 0 (0: off)")
        self.n_iter, self.centre, self.whiten, self.channels = n_iter, bool(centre), float(whiten), channels
        self.image_size = image_size
        self.frozen = False  # True: the atoms reach no loss with a graph (a fixed, pre-trained front end)
        self.dicts = nn.ParameterList()
        self.strides, self.pads, self.lambdas, self.feedback = [], [], [], []
        c, size = channels, image_size
        g = torch.Generator().manual_seed(0)  # the atoms' init draws no training randomness
        for i, layer in enumerate(layers):
            atoms, k, stride = int(layer["atoms"]), int(layer["size"]), int(layer.get("stride", 1))
            lam, fb = float(layer.get("sparsity", 0.1)), float(layer.get("feedback", 0.0))
            if min(atoms, k, stride) < 1 or lam < 0 or fb < 0:
                raise ConfigError(f"model.sdpc.layers[{i}]={dict(layer)}: atoms, size, stride must be >= 1 and "
                                  f"sparsity, feedback >= 0")
            self.dicts.append(nn.Parameter(unit_atoms(torch.randn(atoms, c, k, k, generator=g))))
            self.strides.append(stride)
            self.pads.append(k // 2)
            self.lambdas.append(lam)
            self.feedback.append(fb if i + 1 < len(layers) else 0.0)  # the top layer has nothing above
            c, size = atoms, (size + 2 * (k // 2) - k) // stride + 1
            if size < 1:
                raise ConfigError(f"model.sdpc.layers[{i}]: its code map is empty at image_size={image_size}")
        self.top_shape = (c, size, size)

    @property
    def n_layers(self) -> int:
        return len(self.dicts)

    def atoms(self, i: int, detach: bool = False) -> Tensor:
        w = self.dicts[i].detach() if detach or self.frozen else self.dicts[i]
        return unit_atoms(w)

    @torch.no_grad()
    def renormalise(self) -> None:
        """Back to unit-norm atoms after a gradient step (the paper's constraint on D)."""
        for w in self.dicts:
            w.copy_(unit_atoms(w))

    # -- the two paths ----------------------------------------------------------------------
    def encode(self, i: int, below: Tensor, w: Tensor) -> Tensor:
        """D_i applied to the layer below (bottom-up: correlation with every atom)."""
        return F.conv2d(below, w, stride=self.strides[i], padding=self.pads[i])

    def decode(self, i: int, code: Tensor, w: Tensor, size: tuple[int, int]) -> Tensor:
        """D_i^T gamma_i: layer i's code as a prediction of the layer below, of spatial `size`."""
        s, p, k = self.strides[i], self.pads[i], w.shape[-1]
        extra = [size[d] - ((code.shape[-2 + d] - 1) * s - 2 * p + k) for d in (0, 1)]
        return F.conv_transpose2d(code, w, stride=s, padding=p, output_padding=tuple(extra))

    def sizes(self, hw: tuple[int, int]) -> list[tuple[int, int]]:
        """Spatial size of the image and of every layer's code."""
        out = [tuple(hw)]
        for i, w in enumerate(self.dicts):
            k, s, p = w.shape[-1], self.strides[i], self.pads[i]
            out.append(tuple((n + 2 * p - k) // s + 1 for n in out[-1]))
        return out

    def generate_down(self, code: Tensor, *, from_layer: int | None = None, hw: tuple[int, int] | None = None,
                      detach: bool = False) -> Tensor:
        """A code of layer `from_layer` (default: the top) decoded through every layer below to
        pixels (centred units): the generative path D_1^T ... D_L^T gamma_L."""
        top = self.n_layers - 1 if from_layer is None else from_layer
        if hw is None:  # the configured image size when the code has its size there (strides round down)
            own = self.sizes((self.image_size, self.image_size))
            hw = own[0] if tuple(code.shape[-2:]) == own[top + 1] else self.image_hw(code, top)
        sizes = self.sizes(hw)
        for i in range(top, -1, -1):
            code = self.decode(i, code, self.atoms(i, detach), sizes[i])
        return code

    def image_hw(self, code: Tensor, layer: int) -> tuple[int, int]:
        h, w = code.shape[-2:]
        for i in range(layer, -1, -1):
            h, w = (h - 1) * self.strides[i] - 2 * self.pads[i] + self.dicts[i].shape[-1], \
                   (w - 1) * self.strides[i] - 2 * self.pads[i] + self.dicts[i].shape[-1]
        return h, w

    def split_mean(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(what is coded, what is added back): x minus its local (whiten) or per-channel (centre) mean."""
        if self.whiten:
            mean = local_mean(x, self.whiten)
        else:
            mean = x.mean(dim=(2, 3), keepdim=True) if self.centre else torch.zeros_like(x[:, :, :1, :1])
        return x - mean, mean

    # -- inference --------------------------------------------------------------------------
    @torch.no_grad()
    def step_sizes(self, sizes: list[tuple[int, int]], ws: list[Tensor]) -> list[float]:
        """1 / Lipschitz constant of each layer's smooth part: ||D_i||^2 (power iteration on
        D_i D_i^T at this size) + k_i."""
        out = []
        for i, w in enumerate(ws):
            v = torch.ones(1, w.shape[0], *sizes[i + 1], device=w.device, dtype=w.dtype)
            norm = 1.0
            for _ in range(20):
                v = self.encode(i, self.decode(i, v, w, sizes[i]), w)
                norm = float(v.norm())
                v = v / max(norm, 1e-12)
            out.append(1.0 / (1.05 * norm + self.feedback[i]))
        return out

    def infer(self, x: Tensor, *, n_iter: int | None = None, detach_dicts: bool = True,
              track: bool = False) -> tuple[list[Tensor], list[float]]:
        """The sparse codes of every layer for the (centred) images x, by FISTA. x's graph is kept
        when x requires grad (a discriminator's front end passes G's gradient through the unrolled
        iterations); the dictionaries stay out of it unless detach_dicts=False.
        track: also the pixel MSE of layer 1's reconstruction after each iteration."""
        ws = [self.atoms(i, detach_dicts) for i in range(self.n_layers)]
        sizes = self.sizes(x.shape[-2:])
        etas = self.step_sizes(sizes, [w.detach() for w in ws])
        gam = [x.new_zeros(x.shape[0], w.shape[0], *sizes[i + 1]) for i, w in enumerate(ws)]
        y, t, curve = gam, 1.0, []
        for _ in range(n_iter or self.n_iter):
            new = []
            for i, w in enumerate(ws):
                below = x if i == 0 else y[i - 1]
                grad = -self.encode(i, below - self.decode(i, y[i], w, sizes[i]), w)
                if self.feedback[i]:  # pulled toward the layer above's prediction of it
                    grad = grad + self.feedback[i] * (y[i] - self.decode(i + 1, y[i + 1], ws[i + 1], sizes[i + 1]))
                new.append(F.relu(y[i] - etas[i] * grad - etas[i] * self.lambdas[i]))  # non-negative soft threshold
            t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
            y = [n + (t - 1) / t_next * (n - o) for n, o in zip(new, gam)]
            gam, t = new, t_next
            if track:
                curve.append(float(F.mse_loss(self.decode(0, gam[0].detach(), ws[0].detach(), sizes[0]), x.detach())))
        return gam, curve

    def dictionary_loss(self, x: Tensor, codes: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Sum over layers of the mean squared error of each layer's reconstruction of the one below
        from fixed codes (gradient to the dictionaries only); and those errors, detached."""
        sizes = self.sizes(x.shape[-2:])
        below, errors = x.detach(), []
        for i, code in enumerate(codes):
            code = code.detach()
            errors.append(F.mse_loss(self.decode(i, code, self.atoms(i), sizes[i]), below))
            below = code
        return sum(errors), [e.detach() for e in errors]

    @torch.no_grad()
    def code_stats(self, x: Tensor) -> dict[str, Tensor]:
        """Per image: layer 1's reconstruction error in pixels, the whole generative path's (the
        top code decoded down to pixels) and each layer's fraction of non-zero code units."""
        xc, _ = self.split_mean(x)
        codes, _ = self.infer(xc)
        out = {"val/sdpc_recon_mse": _mse(self.decode(0, codes[0], self.atoms(0), xc.shape[-2:]), xc),
               "val/sdpc_recon_mse_top": _mse(self.generate_down(codes[-1], hw=xc.shape[-2:]), xc)}
        for i, code in enumerate(codes, start=1):
            out[f"val/sdpc_sparsity_l{i}"] = (code > 0).flatten(1).float().mean(1)
        return out


def load_dictionaries(net: SDPC, path: str, *, key: str) -> Path:
    """Copy into `net` the dictionaries of a trained model=sdpc run: its checkpoint file, or its run
    dir (checkpoints/best.pt, else last.pt). Bad input is a ConfigError naming `key` and the file.
    Returns the file read."""
    given = Path(path).expanduser()
    file = given
    if given.is_dir():
        found = [c for c in (given / "checkpoints" / "best.pt", given / "checkpoints" / "last.pt") if c.is_file()]
        file = found[0] if found else given / "checkpoints" / "last.pt"
    if not file.is_file():
        raise ConfigError(f"{key}={path}: no such file {file}: give a model=sdpc run dir or its checkpoints/*.pt")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as e:  # never unsafe unpickling: anything weights_only refuses is bad input
        raise ConfigError(f"{key}={path}: {file} is not a ganlab checkpoint ({type(e).__name__})") from None
    config = state.get("config") if isinstance(state, dict) else None
    model = config.get("model") if isinstance(config, dict) else None
    name = model.get("name") if isinstance(model, dict) else None
    weights = state.get("modules", {}).get("net") if name == "sdpc" else None
    if not isinstance(weights, dict):
        raise ConfigError(f"{key}={path}: {file} is a model={name} checkpoint, not a model=sdpc run's")
    theirs = model.get("sdpc", {})
    saved = [weights.get(f"dicts.{i}") for i in range(sum(k.startswith("dicts.") for k in weights))]
    strides = [int(layer.get("stride", 1)) for layer in theirs.get("layers", [])]
    wrong = []
    if [tuple(w.shape) for w in saved] != [tuple(w.shape) for w in net.dicts]:
        wrong.append(f"atoms (out, in, k, k) per layer {[tuple(w.shape) for w in saved]} vs "
                     f"{[tuple(w.shape) for w in net.dicts]}")
    if strides and strides != net.strides:
        wrong.append(f"strides {strides} vs {net.strides}")
    for k in ("centre", "whiten"):
        if k in theirs and type(getattr(net, k))(theirs[k]) != getattr(net, k):
            wrong.append(f"{k} {theirs[k]} vs {getattr(net, k)}")
    if wrong:
        raise ConfigError(f"{key}={path}: {file} does not fit model.sdpc: {'; '.join(wrong)} (checkpoint vs this config)")
    with torch.no_grad():
        for w, src in zip(net.dicts, saved):
            w.copy_(src)
    return file


def _mse(a: Tensor, b: Tensor) -> Tensor:
    return (a - b).pow(2).flatten(1).mean(1)


def unit_atoms(w: Tensor) -> Tensor:
    """Each atom (one output channel of a conv weight) scaled to unit L2 norm."""
    return w / w.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (w.dim() - 1)))


def local_mean(x: Tensor, sigma: float) -> Tensor:
    """x blurred per channel by a Gaussian of std `sigma` pixels (separable, reflected borders)."""
    r = min(int(math.ceil(3 * sigma)), x.shape[-1] - 1, x.shape[-2] - 1)
    t = torch.arange(-r, r + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
