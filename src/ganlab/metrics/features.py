"""Feature extractors for FID / KID: images (B, C, H, W) -> features (B, D).

Input convention (both extractors): uint8 in [0, 255] or float in [0, 1]; 1-channel images are
repeated to RGB. Each extractor carries `num_features` (FIDKID reads it instead of probing
with a dummy 299x299 image), `extractor_name` (in metric names and cache files) and `comparable`
(whether scores can be compared with published FIDs). An evaluator's config picks one by its
`_target_` (metrics.fid.feature); both are cheap to build (Inception loads at its first use).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from ganlab.metrics.errors import MetricsError

INCEPTION_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 "weights-inception-2015-12-05-6726825d.pth")
WEIGHTS_KEY = "metrics.fid.feature.weights_path"
INCEPTION_DIMS = (64, 192, 768, 2048)


def _rgb(x: Tensor) -> Tensor:
    if x.dim() != 4:
        raise ValueError(f"expected images (B, C, H, W), got shape {tuple(x.shape)}")
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def to_uint8(x: Tensor) -> Tensor:
    """uint8 passes through; float in [0, 1] is rounded to [0, 255] (as an image saved to PNG)."""
    if x.dtype == torch.uint8:
        return x
    return (x.float() * 255).round().clamp(0, 255).to(torch.uint8)


class InceptionFeatures(nn.Module):
    """torch-fidelity's InceptionV3 ('inception-v3-compat', the TF-FID port: bilinear resize to
    299 inside, bit-compatible with the reference implementation) — the standard FID features."""

    comparable = True
    extractor_name = "inception"
    input_size = 299   # what metrics.<evaluator>.resize=clean resizes to

    def __init__(self, *, weights_path: str | Path | None = None, dims: int = 2048):
        super().__init__()
        if dims not in INCEPTION_DIMS:
            raise MetricsError(f"inception features: dims must be one of {INCEPTION_DIMS}, got {dims}")
        self.path = check_inception_weights(weights_path)  # a missing file fails at start, not at the first eval
        self.num_features = dims
        self.net: nn.Module | None = None  # ~100 MB: loaded at the first use, on its device

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        if self.net is None:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

            # the path is never None here, so torch-fidelity takes its torch.load branch, not its downloader
            self.net = FeatureExtractorInceptionV3("inception-v3-compat", [str(self.num_features)],
                                                   feature_extractor_weights_path=str(self.path)).to(x.device).eval()
        x = to_uint8(_rgb(x))
        return self.net(x)[0].reshape(x.shape[0], -1)

    def train(self, mode: bool = True) -> InceptionFeatures:
        return super().train(False)  # BatchNorm must stay in eval: statistics are fixed


def check_inception_weights(weights_path: str | Path | None) -> Path:
    """The weights file, or a MetricsError saying where it is configured and where to get it."""
    how = (f"FID/KID need the standard Inception weights, which are not downloaded by ganlab. "
           f"Download {INCEPTION_FILENAME} (torch-fidelity publishes the same weights, same hash suffix, "
           f"at {INCEPTION_URL}), then set `{WEIGHTS_KEY}=/path/to/{INCEPTION_FILENAME}`. "
           f"For smoke runs, `metrics=fid_proxy` (random-conv features) works offline (not comparable to published FID).")
    if weights_path is None or str(weights_path) == "":
        raise MetricsError(f"{WEIGHTS_KEY} is not set. {how}")
    path = Path(weights_path).expanduser()
    if not path.is_file():
        raise MetricsError(f"{WEIGHTS_KEY}={weights_path}: no such file. {how}")
    return path


class RandomConvFeatures(nn.Module):
    """A small random CNN (weights drawn from `seed`, never trained) with global average pooling.

    For tests and CPU smoke runs only: its FID/KID track distribution differences but are NOT
    comparable to published (Inception) FID/KID, nor across seeds or dims.
    """

    comparable = False
    extractor_name = "random_conv"
    input_size = None  # any size: resize=clean only quantises

    def __init__(self, *, dims: int = 64, seed: int = 0, width: int = 32):
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # Conv2d's default init must not shift training's RNG
            self.net = nn.Sequential(
                nn.Conv2d(3, width, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                nn.Conv2d(2 * width, dims, 3, stride=1, padding=1), nn.LeakyReLU(0.2),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            )
        # own generator: the weights depend on `seed` only, not on the global RNG state
        gen = torch.Generator().manual_seed(seed)
        for m in self.net:
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight.data = torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5
                m.bias.data = torch.randn(m.bias.shape, generator=gen) * 0.1
        self.requires_grad_(False)
        self.eval()
        self.num_features = dims
        self.seed = seed

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        x = _rgb(x)
        x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
        return self.net(x * 2 - 1)


EXTRACTORS = {cls.extractor_name: cls for cls in (InceptionFeatures, RandomConvFeatures)}


def feature_node(name: str, weights_path: str | Path | None = None) -> dict:
    """The config node of an extractor by its name (`ganlab eval --feature`), as
    metrics.<evaluator>.feature holds it; weights_path is for inception only."""
    if name not in EXTRACTORS:
        raise MetricsError(f"unknown feature extractor {name!r}: choose {' or '.join(EXTRACTORS)}")
    node = {"_target_": f"{__name__}.{EXTRACTORS[name].__qualname__}"}
    if name == "inception":
        node["weights_path"] = None if weights_path is None else str(weights_path)
    return node
