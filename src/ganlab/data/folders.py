"""Real image data: any folder (e.g. Simpsons faces), two unpaired folders (e.g. faces ->
Simpsons, horse2zebra's trainA/trainB), MNIST. Bad input is a DataError naming what to fix."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.errors import DataError
from ganlab.data.transforms import to_tensor_pipeline

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
HOW_TO_GET = {
    "horse2zebra": "run `ganlab data download horse2zebra`",
    "simpsons": "put the Simpsons faces images there",
}


def list_images(root: str | Path, *, hint: str = "") -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        how = next((v for k, v in HOW_TO_GET.items() if k in str(root)), "point data.root at an image folder")
        raise DataError(f"{root} not found: {how} (or set data.root=...){hint}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise DataError(f"{root} holds no images ({', '.join(EXTENSIONS)}){hint}")
    return files


def load_image(path: Path, channels: int) -> Image.Image:
    """Any mode (RGBA, P, L, CMYK...) converted to RGB or L, so mixed folders just work."""
    try:
        with Image.open(path) as im:
            return im.convert("RGB" if channels == 3 else "L")
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"cannot read image {path}: {e} (remove or replace the file)") from e


class ImageFolder(Dataset):
    """Every image below `root` (recursively), resized and cropped to image_size."""

    def __init__(self, *, root: str, image_size: int = 64, channels: int = 3, augment: bool = False,
                 load_size: float = 1.12):
        self.files = list_images(root)
        self.channels = channels
        self.transform = to_tensor_pipeline(image_size=image_size, channels=channels, augment=augment,
                                            load_size=load_size)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"x": self.transform(load_image(self.files[i], self.channels)), "y": torch.tensor(0)}

    def verify(self) -> None:
        """Open every file once: names the first unreadable one."""
        for f in self.files:
            load_image(f, self.channels)


class UnpairedFolders(Dataset):
    """Domain A from root_a, domain B from root_b; sample i pairs A[i] with an unrelated B."""

    def __init__(self, *, root_a: str, root_b: str, image_size: int = 128, channels: int = 3,
                 augment: bool = True, load_size: float = 1.12, seed: int = 0):
        self.a, self.b = list_images(root_a), list_images(root_b)
        self.channels = channels
        self.transform = to_tensor_pipeline(image_size=image_size, channels=channels, augment=augment,
                                            load_size=load_size)
        self.perm = torch.randperm(len(self.b), generator=torch.Generator().manual_seed(seed))

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        a = self.transform(load_image(self.a[i % len(self.a)], self.channels))
        b = self.transform(load_image(self.b[int(self.perm[i % len(self.b)])], self.channels))
        return {"A": a, "B": b}


class MNIST(Dataset):
    """torchvision's MNIST (already downloaded under root), padded to 32x32, in [-1, 1]."""

    def __init__(self, *, root: str = "data/mnist", image_size: int = 32, train: bool = True):
        from torchvision import datasets
        try:
            self.ds = datasets.MNIST(root, train=train, download=False)
        except RuntimeError as e:
            raise DataError(f"MNIST not found under {root}: download it with torchvision "
                            f"(datasets.MNIST('{root}', download=True)) on a machine with internet, "
                            f"or set data.root=...") from e
        self.transform = to_tensor_pipeline(image_size=image_size, channels=1)

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        img, label = self.ds[i]
        return {"x": self.transform(img), "y": torch.tensor(label)}
