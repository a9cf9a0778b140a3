"""Real handwritten digits that ship with scikit-learn (1,797 8x8 images, no download).

- Digits: one digit per image (1 channel), label = the digit (10 classes).
- StackedDigits: three digits in the three channels, label = 100*d1 + 10*d2 + d3 (1,000 modes):
  the StackedMNIST protocol (VEEGAN, PacGAN, R3GAN) on these digits.

The 1,797 images are split once by a seeded permutation (`split_seed`): the last TEST_SIZE are
held out (the evaluation's reference and the classifier's test set), the rest train. Images are
upsampled (bilinear) from 8x8 to `image_size`, pixel values 0..16 mapped to [-1, 1].
"""

from __future__ import annotations

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


def check_image_size(image_size) -> int:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8:
        raise ConfigError(f"data.image_size={image_size!r}: digits are 8x8, upsampled: set an integer >= 8 "
                          f"(16 or 32 for model=dcgan / cgan)")
    return image_size


def upsample(images: Tensor, image_size: int) -> Tensor:
    """(N, C, 8, 8) in [0, 1] -> (N, C, image_size, image_size) in [-1, 1]."""
    if image_size != images.shape[-1]:
        images = torch.nn.functional.interpolate(images, size=(image_size, image_size), mode="bilinear",
                                                 align_corners=False).clamp(0, 1)
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
    """One split of scikit-learn's digits, upsampled to `image_size`: {"x": (1, S, S) in [-1, 1], "y": digit}."""
    data_kind = "images"  # what data it works on (training/data_kind.py)

    num_classes = 10

    def __init__(self, *, split: str = "train", image_size: int = 16, channels: int = 1, split_seed: int = 0):
        if channels != 1:
            raise ConfigError(f"data.channels={channels}: digits are grey (1 channel); data=stacked_digits has 3")
        images, self.labels = load_split(split, split_seed)
        self.images = upsample(images[:, None], check_image_size(image_size))  # 1,500 x 16 x 16: 1.5 MB


class StackedDigits(LabelledImages):
    """`size` images of three digits of one split in the R, G, B channels, each drawn uniformly
    from the split by a hash of (seed, index): label = 100*d1 + 10*d2 + d3, 1,000 classes.
    Deterministic from the seed; sample i does not depend on `size`."""
    data_kind = "images"

    num_classes = 1000

    def __init__(self, *, split: str = "train", size: int = 10_000, image_size: int = 16, channels: int = 3,
                 seed: int = 0, split_seed: int = 0):
        if channels != 3:
            raise ConfigError(f"data.channels={channels}: stacked digits have one digit per channel (3)")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"data.dataset.size={size!r}: must be a positive integer")
        images, labels = load_split(split, split_seed)
        u = hash_uniforms(seed, np.arange(size), 3, stream=SPLITS.index(split))
        pick = torch.from_numpy(np.minimum((u * len(labels)).astype(np.int64), len(labels) - 1))  # (size, 3)
        # upsample the split once, then gather: 10k x 3 x 16 x 16 floats = 30 MB
        self.images = upsample(images[:, None], check_image_size(image_size))[:, 0][pick]
        d = labels[pick]
        self.labels = d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]
