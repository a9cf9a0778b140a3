"""SDPC (models/sdpc.py) inside a GAN's networks, for the two fusion presets.

SparseCodeDiscriminator (experiment=sdpc_gan_d): D sees the SDPC sparse codes of its input
beside the pixels. The codes are inferred by the unrolled FISTA iterations, so G's gradient
reaches the image through them; the dictionaries stay out of that graph and learn by their own
rule, the reconstruction error of the real images (regularisers.SparseCodingTerm in D's phase).
A strided-conv trunk halves the pixels' resolution per stage and each layer's code map joins it
at its own resolution (pixels=false: the trunk starts from layer 1's code, D sees codes only).
sdpc_checkpoint starts the front end from a trained model=sdpc run's dictionaries; sdpc_frozen
keeps them fixed (the reconstruction term then has no gradient to give them).

SparseCodeGenerator (experiment=sdpc_gan_g): G maps z to a non-negative top-layer code map and
SDPC's generative path (the transposed convolutions of unit-norm atoms, D_1^T ... D_L^T) decodes
it to pixels, plus a per-channel mean (the part SDPC does not code), through tanh. The atoms learn from G's
adversarial gradient."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.errors import ConfigError
from ganlab.models.dcgan import check_unconditional
from ganlab.models.sdpc import SDPC, load_dictionaries


class SparseCodeDiscriminator(nn.Module):
    data_kind = "images"

    def __init__(self, *, sdpc: SDPC, image_size: int = 32, channels: int = 3, width: int = 64,
                 pixels: bool = True,       # the pixel trunk beside the codes (false: codes only)
                 n_iter: int = 10,          # FISTA iterations in D's pass (unrolled, differentiable)
                 sdpc_checkpoint: str | None = None,  # a model=sdpc run (dir or .pt): its dictionaries
                 sdpc_frozen: bool = False):          # the dictionaries stay fixed: no loss has a gradient for them
        super().__init__()
        self.sdpc, self.n_iter, self.pixels = sdpc, n_iter, bool(pixels)
        if sdpc_checkpoint:
            load_dictionaries(sdpc, sdpc_checkpoint, key="model.discriminator.sdpc_checkpoint")
        sdpc.frozen = bool(sdpc_frozen)  # not requires_grad: the phase runner sets that per phase
        sizes = [s[0] for s in sdpc.sizes((image_size, image_size))[1:]]
        stage_of = {}
        for i, s in enumerate(sizes):  # each code joins the trunk where the trunk has its size
            k = math.log2(image_size / s) if s else -1
            if k < 1 or k != int(k):
                raise ConfigError(f"model.sdpc.layers[{i}]: its code map is {s}x{s}; SparseCodeDiscriminator needs "
                                  f"image_size / 2^k (stride 2 per layer)")
            stage_of.setdefault(int(k), []).append(i)
        self.stage_of = stage_of
        n_stages = max(int(math.log2(image_size)) - 2, max(stage_of))  # down to 4x4
        self.convs = nn.ModuleList()
        c_in = channels if self.pixels else 0
        for k in range(1, n_stages + 1):
            out = width * 2 ** (k - 1)
            extra = sum(sdpc.dicts[i].shape[0] for i in stage_of.get(k, ()))
            if k == 1 and not self.pixels:
                self.convs.append(nn.Identity())  # layer 1's code is the trunk's start
                c_in = extra
                continue
            self.convs.append(nn.Conv2d(c_in, out, 4, 2, 1))
            c_in = out + extra
        self.head = nn.Linear(c_in * (image_size // 2 ** n_stages) ** 2, 1)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        check_unconditional(y)
        xc, _ = self.sdpc.split_mean(x)
        codes, _ = self.sdpc.infer(xc, n_iter=self.n_iter)
        h = x
        for k, conv in enumerate(self.convs, start=1):
            h = conv(h) if not (k == 1 and not self.pixels) else None
            joined = [codes[i] for i in self.stage_of.get(k, ())]
            h = torch.cat(([h] if h is not None else []) + joined, dim=1)
            h = F.leaky_relu(h, 0.2)
        return self.head(h.flatten(1))

    def code_stats(self, x: Tensor) -> dict[str, Tensor]:
        """The front end's reconstruction errors and sparsity per image (metrics/sparse_coding.py)."""
        return self.sdpc.code_stats(x)


class SparseCodeGenerator(nn.Module):
    data_kind = "images"

    def __init__(self, *, sdpc: SDPC, z_dim: int = 100, image_size: int = 32, hidden: int = 256,
                 num_classes: int = 0):
        super().__init__()
        if num_classes:
            raise ConfigError("SparseCodeGenerator is unconditional: set model.num_classes=0")
        self.sdpc, self.z_dim, self.image_size, self.num_classes = sdpc, z_dim, image_size, 0
        c, h, w = sdpc.top_shape
        self.top_shape = (c, h, w)
        self.to_code = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(True), nn.Linear(hidden, c * h * w))
        self.to_mean = nn.Linear(z_dim, sdpc.channels)  # the per-channel mean SDPC leaves uncoded

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        check_unconditional(y)
        code = F.relu(self.to_code(z)).view(z.shape[0], *self.top_shape)  # non-negative, as SDPC's codes
        x = self.sdpc.generate_down(code, hw=(self.image_size, self.image_size))
        return torch.tanh(x + self.to_mean(z)[:, :, None, None])  # images in [-1, 1], as DCGAN's G
