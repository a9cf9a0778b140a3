"""The shapes' own classifier, the judge of `val/shapes_recognised` and `val/shape_classes`
(metrics/shapes.py): the FID proxy and precision cannot tell a cross from a blob of its colour.

13 classes: the data's 12 (shape x colour, data/synthetic.py `Shapes`) and NOT_A_SHAPE, made of
what a GAN that has not learnt the outlines draws: real shapes blurred, outlines halfway between
two shapes (signed distances blended), those blurred, two-colour shapes, two objects in one
image; every image gets a little pixel noise. Area-pooled to 16x16 first: the same cost at 16 or
32 px. Deterministic on CPU, cached under `cache_dir` keyed by its recipe (data/judge.py); its
held-out numbers are in `info` and in protocols.
"""

from __future__ import annotations

import math
import time

import torch
from torch import Tensor, nn

from ganlab.data.judge import CachedJudge, fit, reproducible
from ganlab.data.seeding import sample_generator
from ganlab.data.synthetic import COLOURS, RGB, SHAPES, Shapes

VERSION = 1  # bump when the training code changes what the weights are: old cache files are then ignored
NOT_A_SHAPE = len(SHAPES) * len(COLOURS)  # class 12
SIZE = 32  # the classifier's input size: images are resized to it (area average or repeated pixels)


def _network(width: int) -> nn.Sequential:
    """On 32x32 inputs: a learnt stride-2 first layer keeps the outlines' detail at 16x16's cost."""
    return nn.Sequential(
        nn.Conv2d(3, width, 4, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * (SIZE // 8) ** 2, 64), nn.ReLU(),
        nn.Linear(64, NOT_A_SHAPE + 1),
    )


def _pool(x: Tensor) -> Tensor:
    if x.shape[1] == 1:  # grey data (data.channels=1): judged as grey RGB
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-1] < SIZE:  # 16 px data: each pixel repeated (the outlines are as sharp as it draws them)
        return nn.functional.interpolate(x, size=SIZE, mode="nearest")
    return nn.functional.adaptive_avg_pool2d(x, SIZE)


def blur(img: Tensor, sigma: float) -> Tensor:
    """(C, S, S) image blurred by a gaussian of `sigma` pixels (separable, edges replicated)."""
    k = int(3 * sigma + 1)
    w = torch.exp(-0.5 * (torch.arange(-k, k + 1, dtype=img.dtype) / sigma) ** 2)
    w = (w / w.sum()).view(1, 1, -1).expand(img.shape[0], 1, -1)
    x = nn.functional.pad(img[None], (k, k, k, k), mode="replicate")
    x = nn.functional.conv2d(x, w.unsqueeze(2), groups=img.shape[0])  # along the rows
    return nn.functional.conv2d(x, w.unsqueeze(3), groups=img.shape[0])[0]  # along the columns


def negative(ds: Shapes, seed: int, i: int) -> Tensor:
    """Not-a-shape image i of `seed` (in [-1, 1]): kind i % 5 is blurred / blended outline /
    blended and blurred / two colours / two objects."""
    u = torch.rand(12, generator=sample_generator(seed, i, stream=1)).tolist()
    kind, s = i % 5, ds.image_size
    a = int(u[0] * len(SHAPES))
    b = (a + 1 + int(u[1] * (len(SHAPES) - 1))) % len(SHAPES)  # another shape
    r = 0.35 + 0.25 * u[2]
    cx, cy = (u[3] * 2 - 1) * (0.9 - r), (u[4] * 2 - 1) * (0.9 - r)
    c = int(u[5] * len(COLOURS))
    colour = RGB[c] * (0.8 + 0.2 * u[6])
    bg = 0.06 + 0.06 * u[7]
    d = ds.distance(SHAPES[a], cx, cy, r)
    if kind in (1, 2):
        t = 0.25 + 0.5 * u[8]
        d = (1 - t) * d + t * ds.distance(SHAPES[b], cx, cy, r)
    m = ds.coverage(d)
    if kind == 3:
        t = 0.3 + 0.4 * u[8]
        colour = (1 - t) * colour + t * RGB[(c + 1 + int(u[9] * 2)) % len(COLOURS)]
    if kind == 4:  # a second, smaller object beside it (it may leave the image in part)
        r2, angle = 0.2 + 0.15 * u[9], 2 * math.pi * u[10]
        m2 = ds.coverage(ds.distance(SHAPES[b], cx + 0.9 * (r + r2) * math.cos(angle),
                                     cy + 0.9 * (r + r2) * math.sin(angle), r2))
        m = torch.maximum(m, m2)
    img = ds.paint(m, colour, bg)
    if kind in (0, 2):
        img = blur(img, (0.04 + 0.06 * u[9]) * s)
    return img


def make_set(image_size: int, seed: int, n: int) -> tuple[Tensor, Tensor]:
    """n real shapes (labels 0-11) and n negatives (NOT_A_SHAPE), with pixel noise, pooled."""
    ds = Shapes(size=n, image_size=image_size, channels=3, seed=seed)
    real = torch.stack([ds[i]["x"] for i in range(n)])
    fake = torch.stack([negative(ds, seed, i) for i in range(n)])
    x = torch.cat([real, fake])
    g = torch.Generator().manual_seed(seed)
    x = x + torch.randn(x.shape, generator=g) * torch.rand(len(x), 1, 1, 1, generator=g) * 0.08
    y = torch.cat([torch.arange(n) % NOT_A_SHAPE, torch.full((n,), NOT_A_SHAPE)])
    return _pool(x), y


class ShapesClassifier(CachedJudge):
    """Class probabilities (13: the data's 12 and NOT_A_SHAPE) of (B, C, S, S) images in [-1, 1]."""

    NOT_A_SHAPE = NOT_A_SHAPE  # what the metric needs of this module, without importing it (layers)

    def __init__(self, *, image_size: int = 32, width: int = 16, n_train: int = 4096, n_test: int = 1200,
                 epochs: int = 14, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
                 cache_dir: str = "data/cache"):
        recipe = {"version": VERSION, "image_size": image_size, "width": width, "n_train": n_train,
                  "n_test": n_test, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed}
        super().__init__(prefix="shapes_classifier", recipe=recipe, net=_network(width), cache_dir=cache_dir)

    def train_weights(self, recipe: dict) -> tuple[dict, dict]:
        return train_classifier(recipe)

    @torch.no_grad()
    def probs(self, images: Tensor) -> Tensor:
        """(B, 13) class probabilities of images in [-1, 1]."""
        self.ready()
        return self.net(_pool(images.float())).softmax(-1)

    @staticmethod
    def recognised(probs: Tensor, threshold: float) -> Tensor:
        return recognised(probs, threshold)


def recognised(probs: Tensor, threshold: float) -> Tensor:
    """(B,) class of each image, or -1 where its top class is NOT_A_SHAPE or below `threshold`."""
    p, k = probs.max(-1)
    return torch.where((k != NOT_A_SHAPE) & (p >= threshold), k, torch.full_like(k, -1))


def train_classifier(recipe: dict) -> tuple[dict, dict]:
    """Train on generated sets (seeds apart from the data's 0); held-out numbers in info."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    seed, size = recipe["seed"], recipe["image_size"]
    with reproducible():
        x, y = make_set(size, 1000 + seed, recipe["n_train"])
        net = fit(lambda: _network(recipe["width"]), x, y, recipe)
        xt, yt = make_set(size, 2000 + seed, recipe["n_test"])
        with torch.no_grad():
            k = recognised(net(xt).softmax(-1), 0.9)
    real = yt != NOT_A_SHAPE
    info = {"real_recognised_test": float((k[real] == yt[real]).double().mean()),
            "real_misclassified_test": float(((k[real] != yt[real]) & (k[real] >= 0)).double().mean()),
            "negatives_recognised_test": float((k[~real] >= 0).double().mean()), "threshold": 0.9,
            "n_test": len(yt), "n_train": len(y), "recipe": recipe,
            "train_seconds": round(time.perf_counter() - t0, 2), "train_cpu_seconds": round(time.process_time() - cpu0, 2)}
    return {k: v.clone() for k, v in net.state_dict().items()}, info
