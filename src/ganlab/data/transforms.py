"""Image pipelines on torchvision.transforms.v2: PIL image -> float tensor in [-1, 1]."""

from __future__ import annotations

import torch
from torchvision.transforms import v2


def to_tensor_pipeline(*, image_size: int, channels: int, augment: bool = False,
                       load_size: float = 1.0) -> v2.Compose:
    """Resize (the short side to image_size * load_size), then a random crop + horizontal flip
    when augmenting (CycleGAN's recipe with load_size 1.12) or a center crop otherwise."""
    size = round(image_size * load_size) if augment else image_size
    crop = v2.RandomCrop(image_size) if augment else v2.CenterCrop(image_size)
    steps = [v2.ToImage(), v2.Resize(size, antialias=True), crop]
    if augment:
        steps.append(v2.RandomHorizontalFlip())
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * channels, [0.5] * channels)]
    return v2.Compose(steps)
