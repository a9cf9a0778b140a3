"""Real image data: any folder (e.g. Simpsons faces), two unpaired folders (e.g. faces ->
Simpsons, horse2zebra's trainA/trainB), MNIST. Bad input is a DataError naming what to fix."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.errors import DataError
from ganlab.errors import command_line

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# datasets ganlab knows how to fetch: a missing folder's error says how to get them
DOWNLOADABLE = ("horse2zebra",)
HOW_TO_GET = {"simpsons": "put the Simpsons faces images there (any folder of images works)"}
MAX_LISTED = 5  # unreadable files named in an error: enough to see the pattern, still one line
IN_MEMORY = ("auto", True, False)  # data.in_memory of the image folders

log = logging.getLogger("ganlab")


def missing_root_error(root: Path, key: str) -> DataError:
    """'<path> not found: <how to get it> (or set <key>=...)'. For a known dataset the path named
    is the dataset's own folder (data/horse2zebra, not data/horse2zebra/trainA)."""
    for name in DOWNLOADABLE:
        if name in root.parts:
            top = Path(*root.parts[: root.parts.index(name) + 1])
            named = top if not top.is_dir() else root
            return DataError(f"{named} not found: run `ganlab data download {name}` (or set {key}=...)")
    if re.fullmatch(r"(train|test)[AB]", root.name) and not root.parent.is_dir():
        # a CycleGAN-layout dataset (data.root/trainA, ...) with no data.root at all: say how to fetch it
        fetch = command_line("ganlab", "data", "download", DOWNLOADABLE[0], "--root", root.parent)
        return DataError(f"{root.parent} not found: run `{fetch}` (or set {key}=... to a folder with "
                         f"trainA/trainB/testA/testB)")
    how = next((v for k, v in HOW_TO_GET.items() if k in str(root).lower()), "point it at a folder of images")
    return DataError(f"{root} not found: {how} (or set {key}=...)")


def list_images(root: str | Path, *, key: str = "data.root",
                extensions: Iterable[str] = EXTENSIONS) -> list[Path]:
    """Every image file below root, recursively, in a stable (sorted) order."""
    root = Path(root)
    if root.is_file():
        raise DataError(f"{root} is a file, not a folder of images (set {key}=...)")
    if not root.is_dir():
        raise missing_root_error(root, key)
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in exts and p.is_file())
    if not files:
        raise DataError(f"{root} holds no images (looked for {', '.join(sorted(exts))}, recursively): "
                        f"put images there or set {key}=...")
    return files


def open_converted(path: Path, channels: int) -> Image.Image:
    """The image in RGB or L, fully decoded; PIL's own error when it cannot be."""
    with Image.open(path) as im:
        return im.convert("RGB" if channels == 3 else "L")  # convert() forces the full decode


def load_image(path: Path, channels: int) -> Image.Image:
    """Any mode (RGBA, P, L, I;16, CMYK...) converted to RGB or L, so mixed folders just work."""
    try:
        return open_converted(path, channels)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        # `from None`: the message carries PIL's reason; `ganlab train` reports the root of the
        # exception chain, which must be this DataError (clean message) and not PIL's error
        raise DataError(f"cannot read image {path}: {e} (remove or replace the file)") from None


def unreadable_reason(path: Path, channels: int, image_size: int) -> str | None:
    """Why PIL cannot decode `path` (None: it can). Cheap: a JPEG is decoded at reduced scale
    (draft), still reading every byte, so truncated files are caught; other formats decode fully."""
    try:
        with Image.open(path) as im:
            im.draft("RGB" if channels == 3 else "L", (image_size, image_size))  # no-op unless JPEG
            im.load()
    except Exception as e:  # noqa: BLE001  PIL's plugins raise assorted types on malformed files
        return str(e) or type(e).__name__
    return None


def _decoded_or_reason(decode: Callable[[Path], Tensor], path: Path) -> tuple[Tensor | None, str | None]:
    try:
        return decode(path), None
    except Exception as e:  # noqa: BLE001  as in unreadable_reason
        return None, str(e) or type(e).__name__


def _pool(n: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, min(8, n)))  # PIL decodes (and torch resizes) without the GIL


def check_images(folders: list[tuple[Path, list[Path]]], *, channels: int, image_size: int,
                 skip_unreadable: bool, skip_key: str = "data.dataset.skip_unreadable",
                 decode: Callable[[Path], Tensor] | None = None
                 ) -> tuple[list[list[Path]], list[list[Tensor]] | None]:
    """Each (root, files) pair's files that PIL can decode, checked once at construction so a bad
    file stops the run before it starts rather than at the step that draws it. Unreadable files:
    a DataError, or with skip_unreadable one warning listing them (a folder left with no
    readable image is an error either way). With `decode` (file -> tensor), every file is decoded
    in full by it, and the tensors of the kept files come back too (else None): decoded once."""
    files = [f for _, fs in folders for f in fs]
    with _pool(len(files)) as pool:
        if decode is None:
            reasons, tensors = list(pool.map(lambda f: unreadable_reason(f, channels, image_size), files)), None
        else:
            tensors, reasons = zip(*pool.map(lambda f: _decoded_or_reason(decode, f), files))
    bad = {f: r for f, r in zip(files, reasons) if r is not None}
    kept = [[f for f in fs if f not in bad] for _, fs in folders]
    decoded = None if tensors is None else _split([t for t in tensors if t is not None], [len(fs) for fs in kept])
    if not bad:
        return kept, decoded
    listed = "; ".join(f"{f} ({r})" for f, r in list(bad.items())[:MAX_LISTED])
    more = f"; and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    for (root, _), fs in zip(folders, kept):
        if not fs:
            raise DataError(f"every image under {root} is unreadable: {listed}{more}: remove or replace them")
    if not skip_unreadable:
        raise DataError(f"{len(bad)} unreadable image(s): {listed}{more}: remove or replace them, "
                        f"or set {skip_key}=true to skip them")
    log.warning("skipping %d unreadable image(s) (%s=true): %s", len(bad), skip_key,
                "; ".join(f"{f} ({r})" for f, r in bad.items()))
    return kept, decoded


def _split(items: list, sizes: list[int]) -> list[list]:
    out, start = [], 0
    for n in sizes:
        out.append(items[start:start + n])
        start += n
    return out


def _resized_bytes(path: Path, channels: int, short: int) -> int:
    """Bytes of the file as a uint8 image with its short side resized to `short`, from its
    header alone (0 when unreadable: the check reports it)."""
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception:  # noqa: BLE001  as in unreadable_reason
        return 0
    return channels * short * (max(w, h) * short // max(1, min(w, h)) + 1)


def keep_in_memory(in_memory: str | bool, files: list[Path], *, channels: int, short: int,
                   budget_mb: float) -> bool:
    """data.in_memory: true keeps the decoded, resized uint8 images in memory, false decodes each
    image whenever it is drawn, auto keeps them when they fit data.in_memory_budget_mb."""
    if in_memory not in IN_MEMORY:
        raise DataError(f"data.in_memory={in_memory!r}: choose auto, true or false")
    if in_memory != "auto":
        return in_memory
    with _pool(len(files)) as pool:
        need = sum(pool.map(lambda f: _resized_bytes(f, channels, short), files))
    if need > budget_mb * 2**20:
        log.info("data: images decoded per draw: %d of them need %.0f MB decoded, over "
                 "data.in_memory_budget_mb=%g (raise it, or set data.in_memory=true)", len(files), need / 2**20,
                 budget_mb)
        return False
    return True


def _transforms():
    """ganlab.data.transforms, imported when a folder is read, not when a config is checked (the
    data-fits check imports this module): torchvision's import pulls in torch._dynamo (~1.5 s)."""
    from ganlab.data import transforms
    return transforms


class DecodedImages:
    """Image files read as resized uint8 tensors (transforms.decode_pipeline): each decoded
    once at construction and kept (`in_memory`), or decoded whenever drawn. The same tensors
    either way, so the random crop and flip run on top draw the same pixels."""

    def __init__(self, folders: list[tuple[Path, list[Path]]], *, channels: int, image_size: int,
                 augment: bool, load_size: float, in_memory: str | bool, budget_mb: float,
                 skip_unreadable: bool, skip_key: str):
        self.channels = channels
        self.decode = _transforms().decode_pipeline(image_size=image_size, augment=augment, load_size=load_size)
        short = round(image_size * load_size) if augment else image_size
        keep = keep_in_memory(in_memory, [f for _, fs in folders for f in fs], channels=channels, short=short,
                              budget_mb=budget_mb)
        self.files, self.kept = check_images(
            folders, channels=channels, image_size=image_size, skip_unreadable=skip_unreadable, skip_key=skip_key,
            decode=(lambda f: self.decode(open_converted(f, channels))) if keep else None)
        if self.kept is not None:
            mb = sum(t.numel() for ts in self.kept for t in ts) / 2**20
            log.info("data: %d images decoded once, kept in memory (%.1f MB, data.in_memory=%s)",
                     sum(map(len, self.files)), mb, str(in_memory).lower())

    def get(self, folder: int, i: int) -> Tensor:
        if self.kept is not None:
            return self.kept[folder][i]
        return self.decode(load_image(self.files[folder][i], self.channels))


def _check_channels(channels: int) -> None:
    if channels not in (1, 3):
        raise DataError(f"data.channels={channels}: image folders load as 3 (RGB) or 1 (grey) channels")


class ImageFolder(Dataset):
    """Every image below `root` (recursively), resized (short side) and cropped to image_size.
    Sample: {"x": (channels, image_size, image_size) in [-1, 1], "y": 0}."""
    data_kind = "images"  # what data it works on (training/data_kind.py)
    keeps_own_memory = True  # data.in_memory is this dataset's (the loader does not stack it)

    def __init__(self, *, root: str | Path, image_size: int = 64, channels: int = 3,
                 augment: bool = False,
                 load_size: float = 1.12,          # augment: resize to this x image_size, random-crop back
                 skip_unreadable: bool = False,    # True: drop undecodable files with one warning, not an error
                 in_memory: str | bool = False,    # auto | true | false: keep the decoded images (DecodedImages)
                 in_memory_budget_mb: float = 512,  # in_memory=auto: the most memory they may take
                 extensions: Iterable[str] = EXTENSIONS):
        _check_channels(channels)
        self.root, self.channels = Path(root), channels
        files = list_images(root, extensions=extensions)
        self.images = DecodedImages([(self.root, files)], channels=channels, image_size=image_size, augment=augment,
                                    load_size=load_size, in_memory=in_memory, budget_mb=in_memory_budget_mb,
                                    skip_unreadable=skip_unreadable, skip_key="data.dataset.skip_unreadable")
        (self.files,) = self.images.files
        self.transform = _transforms().finish_pipeline(image_size=image_size, channels=channels, augment=augment)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"x": self.transform(self.images.get(0, i)), "y": torch.tensor(0)}

    def verify(self) -> None:
        """Open every file once: a DataError names the first unreadable one."""
        for f in self.files:
            load_image(f, self.channels)


class UnpairedFolders(Dataset):
    """Domain A from root_a, domain B from root_b (unpaired translation, CycleGAN layout).
    Sample i: {"A": A[i % len_A], "B": B[perm[i % len_B]]} with a seeded permutation, so A and B
    are not aligned by file order; length max(len_A, len_B)."""
    data_kind = "unpaired"  # what data it works on (training/data_kind.py)
    keeps_own_memory = True  # data.in_memory is this dataset's (the loader does not stack it)

    def __init__(self, *, root_a: str | Path, root_b: str | Path, image_size: int = 128,
                 channels: int = 3, augment: bool = True,
                 load_size: float = 1.12,          # augment: resize to this x image_size, random-crop back
                 seed: int = 0,                    # the A/B pairing permutation
                 skip_unreadable: bool = False,    # True: drop undecodable files with one warning, not an error
                 in_memory: str | bool = False,    # auto | true | false: keep the decoded images (DecodedImages)
                 in_memory_budget_mb: float = 512,  # in_memory=auto: the most memory both domains may take
                 extensions: Iterable[str] = EXTENSIONS):
        _check_channels(channels)
        self.channels = channels
        root_a, root_b = Path(root_a), Path(root_b)
        key_a, key_b = _root_keys(root_a, root_b)
        files_a = list_images(root_a, key=key_a, extensions=extensions)
        files_b = list_images(root_b, key=key_b, extensions=extensions)
        # a CycleGAN test split (testA/testB) is built from data.test_dataset: name that node
        node = "test_dataset" if re.fullmatch(r"test[AB]", root_a.name) else "dataset"
        self.images = DecodedImages([(root_a, files_a), (root_b, files_b)], channels=channels, image_size=image_size,
                                    augment=augment, load_size=load_size, in_memory=in_memory,
                                    budget_mb=in_memory_budget_mb, skip_unreadable=skip_unreadable,
                                    skip_key=f"data.{node}.skip_unreadable")
        self.files_a, self.files_b = self.images.files
        self.transform = _transforms().finish_pipeline(image_size=image_size, channels=channels, augment=augment)
        self.perm_b = torch.randperm(len(self.files_b), generator=torch.Generator().manual_seed(seed))

    def __len__(self) -> int:
        return max(len(self.files_a), len(self.files_b))

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        a = self.images.get(0, i % len(self.files_a))
        b = self.images.get(1, int(self.perm_b[i % len(self.files_b)]))
        return {"A": self.transform(a), "B": self.transform(b)}

    def verify(self) -> None:
        """Open every file of both domains once: a DataError names the first unreadable one."""
        for f in (*self.files_a, *self.files_b):
            load_image(f, self.channels)


def _root_keys(root_a: Path, root_b: Path) -> tuple[str, str]:
    """The config keys to name in errors: one data.root for a CycleGAN layout (root/trainA,
    root/trainB), else data.root_a / data.root_b."""
    if root_a.parent == root_b.parent and root_a.name[-1:] == "A" and root_b.name[-1:] == "B":
        return "data.root", "data.root"
    return "data.root_a", "data.root_b"


def open_mnist(root: str | Path, train: bool):
    """torchvision's MNIST dataset read from root/MNIST/raw (never downloaded here), else a DataError
    saying how to get the files."""
    from torchvision import datasets
    try:
        return datasets.MNIST(str(root), train=train, download=False)
    except RuntimeError:
        raise DataError(
            f"MNIST not found under {root} (expected {Path(root) / 'MNIST' / 'raw'}): fetch it on a machine "
            f"with internet with torchvision.datasets.MNIST('{root}', download=True) and copy it here, "
            f"or set data.root=...") from None


class MNIST(Dataset):
    """torchvision's MNIST (already downloaded under root, i.e. root/MNIST/raw), 28x28 padded by 2
    to 32x32 (the LeNet convention: no resampling), resized further if image_size != 32.
    Sample: {"x": (1, image_size, image_size) in [-1, 1], "y": digit}."""
    data_kind = "images"  # what data it works on (training/data_kind.py)

    num_classes = 10

    def __init__(self, *, root: str | Path = "data/mnist", image_size: int = 32, train: bool = True):
        from torchvision.transforms import v2
        self.ds = open_mnist(root, train)
        steps = [v2.ToImage(), v2.Pad(2)]
        if image_size != 32:
            steps.append(v2.Resize((image_size, image_size), antialias=True))
        self.transform = v2.Compose([*steps, v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.5])])

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        img, label = self.ds[i]
        return {"x": self.transform(img), "y": torch.tensor(int(label))}
