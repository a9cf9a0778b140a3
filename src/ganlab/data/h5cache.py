"""Preprocess once, train many times (course notes, seed 003): a dataset written into one .h5
file, chunked per sample for random access. uint8 quantises images in [-1, 1] to 0..255 (4x
smaller than float32, error <= 1/127.5); float16 keeps them as they are at half the size.

Augmentation cannot be baked in: prepare a dataset built with augment=False and give H5Dataset
a `transform` (e.g. transforms.augment_tensor_pipeline) to run on top."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.errors import DataError
from ganlab.data.transforms import apply_to_sample, augment_tensor_pipeline
from ganlab.errors import command_line
from ganlab.files import temp_file

IMAGE_KEYS = ("x", "A", "B")        # (C, H, W) in [-1, 1]: stored quantised or as float16
MASK_KEYS = ("mask_A", "mask_B")    # (1, H, W) in {0, 1}: stored exactly as uint8
FORMAT_VERSION = 1


def _encoding(key: str, value: Tensor, dtype: str) -> str:
    if key in IMAGE_KEYS and value.dim() == 3:
        return "image_u8" if dtype == "uint8" else "image_f16"
    if key in MASK_KEYS:
        return "mask_u8"
    return "raw"  # labels, 2D points: kept exactly


def _encode(arr: Tensor, encoding: str) -> np.ndarray:
    if encoding == "image_u8":
        return ((arr.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    if encoding == "image_f16":
        return arr.to(torch.float16).numpy()
    if encoding == "mask_u8":
        return (arr > 0.5).to(torch.uint8).numpy()
    return arr.numpy()


def _decode(arr: np.ndarray, encoding: str) -> Tensor:
    t = torch.from_numpy(np.asarray(arr))  # asarray keeps 0-d labels 0-d
    if encoding == "image_u8":
        return t.float() / 127.5 - 1
    if encoding in ("image_f16", "mask_u8"):
        return t.float()
    return t


def prepare(dataset: Dataset, path: str | Path, *, dtype: str = "uint8",
            chunk: int = 1,                    # samples per HDF5 chunk: 1 = cheapest random access
            batch: int = 256,                  # samples gathered in memory per write
            source_config: dict | None = None  # the dataset's config, recorded in the file
            ) -> Path:
    """Write every sample of `dataset` once into `path`; a temp file in the same folder, then
    os.replace, so a crash or error leaves no file (and never a half one) at `path`."""
    if dtype not in ("uint8", "float16"):
        raise ValueError(f"dtype={dtype!r}: choose uint8 or float16")
    n = len(dataset)
    if n == 0:
        raise DataError("cannot cache an empty dataset")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = temp_file(path)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with h5py.File(tmp, "w") as f:
            first = dataset[0]
            encodings = {k: _encoding(k, v, dtype) for k, v in first.items()}
            for k, v in first.items():
                sample = _encode(v[None], encodings[k])
                f.create_dataset(k, shape=(n, *v.shape), dtype=sample.dtype,
                                 chunks=(min(chunk, n), *v.shape) if v.dim() else None)
                f[k].attrs["encoding"] = encodings[k]
            for start in range(0, n, batch):
                items = [first if i == 0 else dataset[i] for i in range(start, min(n, start + batch))]
                for k in encodings:
                    f[k][start:start + len(items)] = _encode(torch.stack([it[k] for it in items]), encodings[k])
            f.attrs.update({"format_version": FORMAT_VERSION, "dtype": dtype, "length": n,
                            "source": f"{type(dataset).__module__}.{type(dataset).__qualname__}",
                            "source_config": json.dumps(source_config or {}, default=str)})
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class H5Dataset(Dataset):
    """Reads a prepared file back in the dataset's own dict format (float32 images in [-1, 1],
    masks in {0, 1}, int64 labels). The h5 handle is opened lazily in each process: h5py handles
    cannot be pickled into DataLoader workers, nor shared across a fork."""

    def __init__(self, *, path: str | Path,
                 transform: Callable | None = None):  # v2 transform run on each image (with its mask)
        self.path, self.transform = Path(path), transform
        if not self.path.is_file():
            raise DataError(f"{self.path} not found: run `ganlab data prepare data=<name>` first")
        try:
            with h5py.File(self.path, "r") as f:
                self.n = int(f.attrs["length"])
                self.dtype = str(f.attrs["dtype"])
                self.source = str(f.attrs.get("source", ""))
                self.source_config = json.loads(f.attrs.get("source_config", "{}"))
                self.encodings = {k: str(f[k].attrs.get("encoding", "raw")) for k in f.keys()}
        except (OSError, KeyError) as e:  # `from None`: the reason is in the message (see folders.load_image)
            raise DataError(f"{self.path} is not a ganlab h5 cache ({e}): prepare it again") from None
        self._f: h5py.File | None = None
        self._pid: int | None = None
        self._arrays: dict = {}  # per process: h5py datasets, or in-memory arrays for the small keys

    def _file(self) -> h5py.File:
        if self._f is None or self._pid != os.getpid():
            self._f, self._pid = h5py.File(self.path, "r"), os.getpid()
            # a lookup by name or a scalar read costs more than one small sample: keep the dataset
            # objects, and the raw keys (labels, 2D points: a few bytes a sample) in memory
            self._arrays = {k: self._f[k][...] if enc == "raw" else self._f[k] for k, enc in self.encodings.items()}
        return self._f

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} samples")
        self._file()
        out = {k: _decode(self._arrays[k][i], enc) for k, enc in self.encodings.items()}
        return out if self.transform is None else apply_to_sample(self.transform, out)

    def as_tensors(self) -> dict[str, Tensor]:
        """The whole file decoded at once (the loader's in-memory path); no transform applied,
        so only valid without augmentation."""
        if self.transform is not None:
            raise ValueError("as_tensors() skips the transform: use per-sample access with augmentation")
        f = self._file()
        return {k: _decode(f[k][...], enc) for k, enc in self.encodings.items()}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_f": None, "_pid": None, "_arrays": {}}


class PreparedDataset(H5Dataset):
    """The train split read from the file `ganlab data prepare data=NAME` wrote (data.cache=h5;
    conf/config.yaml). The file holds clean images: augmentation, if the dataset asks for it,
    runs on top."""

    def __init__(self, *, name: str, image_size: int | None = None,
                 path: str | Path | None = None,   # data.cache_path; None: where `data prepare` writes
                 augment: bool = False, load_size: float = 1.12):
        file = prepared_path(name, image_size, path)
        if not file.is_file():
            raise DataError(f"{file} does not exist: run `{command_line('ganlab', 'data', 'prepare', f'data={name}')}` first "
                            f"(or train with data.cache=none)")
        transform = augment_tensor_pipeline(image_size=image_size, load_size=load_size) if augment else None
        super().__init__(path=file, transform=transform)


def prepared_path(name: str, image_size: int | None = None, path: str | Path | None = None) -> Path:
    """Where `data prepare` writes, and `data.cache=h5` reads, a dataset's h5 cache."""
    if path:
        return Path(path)
    return Path("data/cache") / (f"{name}_{image_size}px.h5" if image_size else f"{name}.h5")


def cache_path(cfg) -> Path:
    """prepared_path of a composed config's data."""
    return prepared_path(cfg.data.name, cfg.data.get("image_size"), cfg.data.get("cache_path"))
