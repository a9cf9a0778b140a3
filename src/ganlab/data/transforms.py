"""Image pipelines on torchvision.transforms.v2. Images in ganlab are float32 (C, H, W) in [-1, 1].

Random steps draw from torch's global RNG only: the loader seeds it per sample (from seed, epoch,
index), which is what makes a resumed run see exactly the same augmentations."""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision import tv_tensors
from torchvision.transforms import v2


def resize_steps(*, image_size: int, augment: bool, load_size: float) -> list[v2.Transform]:
    """Short side to image_size (x load_size when augmenting): deterministic, no random draw."""
    return [v2.Resize(round(image_size * load_size) if augment else image_size, antialias=True)]


def crop_steps(*, image_size: int, augment: bool) -> list[v2.Transform]:
    """A centre crop, or a random crop + horizontal flip (the random draws of the pipeline)."""
    if not augment:
        return [v2.CenterCrop(image_size)]
    return [v2.RandomCrop(image_size), v2.RandomHorizontalFlip()]


def resize_crop_steps(*, image_size: int, augment: bool, load_size: float) -> list[v2.Transform]:
    """Short side to image_size (x load_size when augmenting), then a centre crop, or a random
    crop + horizontal flip (CycleGAN's recipe with load_size 1.12). Any aspect ratio or size in."""
    return [*resize_steps(image_size=image_size, augment=augment, load_size=load_size),
            *crop_steps(image_size=image_size, augment=augment)]


def decode_pipeline(*, image_size: int, augment: bool = False, load_size: float = 1.12) -> v2.Compose:
    """PIL image (already converted to RGB or L) -> uint8 (channels, h, w), short side resized.
    Deterministic, so its output can be kept in memory (data.in_memory); finish_pipeline, run on
    it per sample, does the rest."""
    return v2.Compose([v2.ToImage(), *resize_steps(image_size=image_size, augment=augment, load_size=load_size)])


def finish_pipeline(*, image_size: int, channels: int, augment: bool = False) -> v2.Compose:
    """decode_pipeline's uint8 image -> cropped float32 (channels, size, size) in [-1, 1]."""
    return v2.Compose([*crop_steps(image_size=image_size, augment=augment), v2.ToDtype(torch.float32, scale=True),
                       v2.Normalize([0.5] * channels, [0.5] * channels)])


def augment_tensor_pipeline(*, image_size: int, load_size: float = 1.12) -> v2.Compose:
    """Augmentation for images that are already tensors in [-1, 1] (e.g. read from an h5 cache,
    which stores clean images): resize up, random crop back, flip."""
    return v2.Compose(resize_crop_steps(image_size=image_size, augment=True, load_size=load_size))


def apply_to_sample(transform, sample: dict[str, Tensor]) -> dict[str, Tensor]:
    """Apply an image transform to a dataset sample: "x" alone, and "A"/"B" each together with
    its mask ("mask_A"/"mask_B"), so a crop or flip moves image and mask identically."""
    out = dict(sample)
    for key in ("x", "A", "B"):
        if key not in sample or sample[key].dim() != 3:  # 2D points have nothing to augment
            continue
        group = {key: tv_tensors.Image(sample[key])}
        if f"mask_{key}" in sample:
            group[f"mask_{key}"] = tv_tensors.Mask(sample[f"mask_{key}"])
        for k, v in transform(group).items():
            out[k] = v.as_subclass(Tensor)
    return out
