"""Real handwritten digits as labelled images, from one of two sources (a `source` node):

- SklearnDigits (the default): the 1,797 8x8 digits that ship with scikit-learn (no download),
  split once by a seeded permutation (`split_seed`): the last TEST_SIZE held out (the evaluation's
  reference and the classifier's test set), the rest train; pixel values 0..16.
- MNISTDigits: MNIST's 60,000 / 10,000 digits from the files of `data=mnist` (root/MNIST/raw,
  never downloaded here), 28x28 padded by 2 to 32x32 as data=mnist does.

- Digits: one digit per image (1 channel), label = the digit (10 classes).
- StackedDigits: three digits in the three channels, label = 100*d1 + 10*d2 + d3 (1,000 modes):
  the StackedMNIST protocol (VEEGAN, PacGAN, R3GAN): on MNIST, StackedMNIST itself.

Images are resized (bilinear; antialiased when shrinking) to `image_size`, values mapped to [-1, 1].
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.seeding import hash_uniforms
from ganlab.errors import ConfigError

TEST_SIZE = 297  # of 1,797: 1,500 train
SPLITS = ("train", "test")


@lru_cache(maxsize=4)
def load_split(split: str, split_seed: int = 0) -> tuple[Tensor, Tensor]:
    """(images (N, 8, 8) in [0, 1], labels (N,)) of one split; the same for every caller."""
    if split not in SPLITS:
        raise ConfigError(f"split={split!r}: choose train or test")
    from sklearn.datasets import load_digits  # bundled with scikit-learn: read from its package

    raw = load_digits()
    order = np.random.default_rng(split_seed).permutation(len(raw.target))
    idx = order[-TEST_SIZE:] if split == "test" else order[:-TEST_SIZE]
    images = torch.from_numpy(raw.images[idx] / 16.0).float()
    return images, torch.from_numpy(raw.target[idx]).long()


class SklearnDigits:
    """scikit-learn's bundled digits: 1,500 train / 297 held out by the permutation of `split_seed`."""
    name = "scikit-learn's digits (load_digits, 8x8)"

    def __init__(self, *, split_seed: int = 0):
        self.split_seed = split_seed
        self.identity = {"split_seed": split_seed, "data": "sklearn load_digits, 1500 train / 297 test"}

    def load(self, split: str) -> tuple[Tensor, Tensor]:
        return load_split(split, self.split_seed)


class MNISTDigits:
    """MNIST from torchvision's files under `root` (data=mnist's: `data.root`), checked at build:
    missing files are a DataError saying how to get them, before anything is created."""
    name = "MNIST (28x28 padded to 32x32)"

    def __init__(self, *, root: str = "data/mnist"):
        self.root = str(root)
        self.identity = _mnist_identity(self.root)  # reads the files: missing ones fail here

    def load(self, split: str) -> tuple[Tensor, Tensor]:
        return _load_mnist(self.root, split)


@lru_cache(maxsize=4)
def _mnist_identity(root: str) -> dict:
    """The classifier's cache key: the files' content (sizes and a hash), wherever they live."""
    (x, y), (xt, yt) = _load_mnist(root, "train"), _load_mnist(root, "test")
    digest = hashlib.sha1(b"".join(t.numpy().tobytes() for t in (x, y, xt, yt))).hexdigest()[:12]
    return {"data": f"MNIST {len(y)} train / {len(yt)} test, sha1 {digest}"}


@lru_cache(maxsize=4)
def _load_mnist(root: str, split: str) -> tuple[Tensor, Tensor]:
    """(images (N, 32, 32) in [0, 1], labels (N,)): the raw uint8 files, padded by 2 (LeNet's convention)."""
    if split not in SPLITS:
        raise ConfigError(f"split={split!r}: choose train or test")
    from ganlab.data.folders import open_mnist
    ds = open_mnist(root, train=split == "train")
    images = torch.nn.functional.pad(ds.data.float() / 255, (2, 2, 2, 2))
    return images, ds.targets.long()


def check_image_size(image_size) -> int:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8:
        raise ConfigError(f"data.image_size={image_size!r}: set an integer >= 8 (16 or 32 for model=dcgan / cgan)")
    return image_size


def resize(images: Tensor, image_size: int) -> Tensor:
    """(N, C, S, S) in [0, 1] -> (N, C, image_size, image_size) in [-1, 1]."""
    if image_size != images.shape[-1]:
        images = torch.nn.functional.interpolate(images, size=(image_size, image_size), mode="bilinear",
                                                 align_corners=False,
                                                 antialias=image_size < images.shape[-1]).clamp(0, 1)
    return images * 2 - 1


class LabelledImages(Dataset):
    """`images` (N, C, H, W) in [-1, 1] and their `labels`, held in memory."""
    images: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"x": self.images[i], "y": self.labels[i]}

    def as_tensors(self) -> dict[str, Tensor]:
        """The whole set at once (the loader's in-memory fast path)."""
        return {"x": self.images, "y": self.labels}


class Digits(LabelledImages):
    """One split of the digits of `source` (default: scikit-learn's, split by `split_seed`), resized
    to `image_size`: {"x": (1, S, S) in [-1, 1], "y": digit}."""
    data_kind = "images"  # what data it works on (training/data_kind.py)

    num_classes = 10

    def __init__(self, *, split: str = "train", image_size: int = 16, channels: int = 1, split_seed: int = 0,
                 source: SklearnDigits | MNISTDigits | None = None):
        if channels != 1:
            raise ConfigError(f"data.channels={channels}: digits are grey (1 channel); data=stacked_digits has 3")
        images, self.labels = (source or SklearnDigits(split_seed=split_seed)).load(split)
        self.images = resize(images[:, None], check_image_size(image_size))  # 1,500 x 16 x 16: 1.5 MB


class StackedDigits(LabelledImages):
    """`size` images of three digits of one split of `source` (default: scikit-learn's) in the R, G,
    B channels, each drawn uniformly from the split by a hash of (seed, index): label = 100*d1 +
    10*d2 + d3, 1,000 classes. Deterministic from the seed; sample i does not depend on `size`."""
    data_kind = "images"

    num_classes = 1000

    def __init__(self, *, split: str = "train", size: int = 10_000, image_size: int = 16, channels: int = 3,
                 seed: int = 0, split_seed: int = 0, source: SklearnDigits | MNISTDigits | None = None):
        if channels != 3:
            raise ConfigError(f"data.channels={channels}: stacked digits have one digit per channel (3)")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"data.dataset.size={size!r}: must be a positive integer")
        images, labels = (source or SklearnDigits(split_seed=split_seed)).load(split)
        u = hash_uniforms(seed, np.arange(size), 3, stream=SPLITS.index(split))
        pick = torch.from_numpy(np.minimum((u * len(labels)).astype(np.int64), len(labels) - 1))  # (size, 3)
        # resize the split once, then gather: 10k x 3 x 16 x 16 floats = 30 MB
        self.images = resize(images[:, None], check_image_size(image_size))[:, 0][pick]
        d = labels[pick]
        self.labels = d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]
