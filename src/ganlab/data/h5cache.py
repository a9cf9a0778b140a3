"""Preprocess once, train many times (course notes, seed 003): a dataset written into one .h5
file, chunked per sample for random access. uint8 quantises images in [-1, 1] to 0..255 (4x
smaller than float32); float16 keeps them as they are at half the size."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.errors import DataError

IMAGE_KEYS = ("x", "A", "B")


def prepare(dataset: Dataset, path: str | Path, *, dtype: str = "uint8", batch: int = 256) -> Path:
    """Write every sample once; temp file then os.replace, so a crash leaves no half file."""
    if dtype not in ("uint8", "float16"):
        raise ValueError(f"dtype={dtype!r}: choose uint8 or float16")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    n = len(dataset)
    try:
        with h5py.File(tmp, "w") as f:
            first = dataset[0]
            for k, v in first.items():
                is_img = k in IMAGE_KEYS and v.dim() == 3
                dt = (np.uint8 if dtype == "uint8" else np.float16) if is_img else v.numpy().dtype
                f.create_dataset(k, shape=(n, *v.shape), dtype=dt, chunks=(1, *v.shape))
            for start in range(0, n, batch):
                items = [dataset[i] for i in range(start, min(n, start + batch))]
                for k in first:
                    arr = torch.stack([it[k] for it in items])
                    if f[k].dtype == np.uint8 and k in IMAGE_KEYS:
                        arr = ((arr.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
                    f[k][start:start + len(items)] = arr.numpy().astype(f[k].dtype)
            f.attrs["dtype"], f.attrs["length"] = dtype, n
            f.attrs["source"] = type(dataset).__name__
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class H5Dataset(Dataset):
    """Reads a prepared file back in the dict format. The h5 handle is opened lazily in each
    process (h5py handles cannot cross into DataLoader workers)."""

    def __init__(self, *, path: str | Path, transform=None):
        self.path, self.transform = Path(path), transform
        if not self.path.is_file():
            raise DataError(f"{self.path} not found: run `ganlab data prepare` first")
        with h5py.File(self.path, "r") as f:
            self.keys, self.n = list(f.keys()), int(f.attrs["length"])
        self._f = None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        if self._f is None:
            self._f = h5py.File(self.path, "r")
        out = {}
        for k in self.keys:
            a = torch.from_numpy(np.asarray(self._f[k][i]))
            if a.dtype == torch.uint8 and k in IMAGE_KEYS:
                a = a.float() / 127.5 - 1
            elif a.dtype == torch.float16:
                a = a.float()
            out[k] = a
        if self.transform is not None:
            out = self.transform(out)
        return out

    def __getstate__(self):
        return {**self.__dict__, "_f": None}
