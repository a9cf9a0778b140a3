"""The digits' own classifier, trained by ganlab on the train split of a data/digits.py source:
the judge of the digit metrics (metrics/digits.py: stacked digits' modes, `val/fd_digits` on its
penultimate features), so they need no downloaded weights.

Deterministic on CPU (seeded init and order, one thread); the weights are cached under
`cache_dir`, keyed by a hash of everything that makes them (architecture, training, image size,
the source's split or files' content). Its held-out accuracy is in `info` and in protocols.
"""

from __future__ import annotations

import time

import torch
from torch import Tensor, nn

from ganlab.data.digits import MNISTDigits, SklearnDigits, check_image_size, resize
from ganlab.data.judge import CachedJudge, fit, reproducible

VERSION = 1  # bump when the training code changes what the weights are: old cache files are then ignored


def _network(width: int, features: int) -> nn.Sequential:
    """On 8x8 inputs (any image size is pooled to 8x8 first, scikit-learn's digits' own size: see `_pool`)."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * 4, features), nn.ReLU(),  # the penultimate features (Fréchet distance)
        nn.Linear(features, 10),
    )


def _pool(x: Tensor) -> Tensor:
    """Images of any size -> 8x8 (area average, as scikit-learn's digits were made from 32x32
    bitmaps): the classifier costs the same at 16 or 32 px, on either source."""
    return nn.functional.adaptive_avg_pool2d(x, 8)


class DigitsClassifier(CachedJudge):
    """Digit of each channel of (B, C, S, S) images. As an FID/KID feature extractor
    (metrics/features.py's interface: input in [0, 1], `num_features`, `extractor_name`) it gives
    the penultimate features of each channel side by side: C x `features` numbers per image."""

    comparable = False         # ganlab's own network: not comparable with published numbers
    extractor_name = "digits"  # -> val/fd_digits
    input_size = None          # works at the data's size: resize=clean only quantises

    def __init__(self, *, image_size: int = 16, channels: int = 1, width: int = 16, features: int = 64,
                 epochs: int = 15, batch_size: int = 50, lr: float = 2e-3, seed: int = 0, split_seed: int = 0,
                 cache_dir: str = "data/cache", source: SklearnDigits | MNISTDigits | None = None):
        source = source or SklearnDigits(split_seed=split_seed)  # what it learns to read
        recipe = {"version": VERSION, "image_size": check_image_size(image_size), "width": width,
                  "features": features, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
                  **source.identity}
        super().__init__(prefix="digits_classifier", recipe=recipe, net=_network(width, features), cache_dir=cache_dir)
        self.source = source
        self.cache_tag = self.digest  # in the file names of FID reference statistics made with it
        self.channels, self.num_features = channels, channels * features

    def train_weights(self, recipe: dict) -> tuple[dict, dict]:
        return train_classifier(recipe, self.source)

    @torch.no_grad()
    def _per_channel(self, images: Tensor, layers: nn.Module) -> Tensor:
        """`layers` on each channel of images in [-1, 1] (B, C, S, S) -> (B, C, ...)."""
        self.ready()
        b, c = images.shape[:2]
        out = layers(_pool(images.float().reshape(b * c, 1, *images.shape[2:])))
        return out.reshape(b, c, *out.shape[1:])

    def classify(self, images: Tensor) -> Tensor:
        """(B, C) digits of images in [-1, 1]."""
        return self._per_channel(images, self.net).argmax(-1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C * features) penultimate features of images in [0, 1] (the extractors' convention)."""
        x = x.float() / 255 if x.dtype == torch.uint8 else x
        return self._per_channel(x * 2 - 1, self.net[:-1]).flatten(1)


def train_classifier(recipe: dict, source) -> tuple[dict, dict]:
    """Train on the train split of `source`; (state_dict, info with the held-out accuracy and the time)."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    size = recipe["image_size"]
    x, y = source.load("train")
    x = _pool(resize(x[:, None], size))  # what the classifier sees of data at that size
    with reproducible():
        net = fit(lambda: _network(recipe["width"], recipe["features"]), x, y, recipe)
        xt, yt = source.load("test")
        with torch.no_grad():
            accuracy = float((net(_pool(resize(xt[:, None], size))).argmax(1) == yt).double().mean())
    info = {"data": source.name, "accuracy_test": accuracy, "n_test": len(yt), "n_train": len(y), "recipe": recipe,
            "train_seconds": round(time.perf_counter() - t0, 2), "train_cpu_seconds": round(time.process_time() - cpu0, 2)}
    return {k: v.clone() for k, v in net.state_dict().items()}, info
