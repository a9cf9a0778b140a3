"""Fetch public datasets: stream to a temp file beside the target, check the zip and its
contents, extract beside the target and move into place with os.replace. Idempotent; on any
failure nothing is left half-written and a DataError says what went wrong."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ganlab.data.errors import DataError
from ganlab.data.folders import EXTENSIONS


@dataclass(frozen=True)
class DatasetSpec:
    url: str
    folders: dict[str, int] = field(default_factory=dict)  # expected sub-folder -> image count


DATASETS = {
    # CycleGAN authors' server (Zhu et al. 2017)
    "horse2zebra": DatasetSpec(url="https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip",
                               folders={"trainA": 1067, "trainB": 1334, "testA": 120, "testB": 140}),
}


def _count_images(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())


def check_layout(root: Path, spec: DatasetSpec) -> list[str]:
    """Problems with an extracted dataset (empty list = valid)."""
    problems = []
    for name, expected in spec.folders.items():
        d = root / name
        if not d.is_dir():
            problems.append(f"missing folder {name}/")
        elif (n := _count_images(d)) != expected:
            problems.append(f"{name}/ has {n} images, expected {expected}")
    return problems


def _fetch(url: str, dest: Path, *, label: str) -> None:
    """Stream url to dest (1 MiB chunks, constant memory); a progress bar on a terminal."""
    with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:
        total = int(r.headers.get("Content-Length") or 0) or None
        progress = None
        if sys.stderr.isatty():
            from rich.progress import DownloadColumn, Progress, TransferSpeedColumn
            progress = Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                                transient=True)
        done = 0
        with progress or _NoProgress() as bar:
            task = bar.add_task(label, total=total)
            while chunk := r.read(1 << 20):
                f.write(chunk)
                done += len(chunk)
                bar.update(task, completed=done)
    if total is not None and done != total:
        raise DataError(f"download of {label} from {url} was cut short ({done} of {total} bytes); try again")


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, *a, **k):
        return 0

    def update(self, *a, **k):
        pass


def _extract(archive: Path, dest: Path, *, name: str, url: str) -> Path:
    """Check the zip, extract it into dest; returns the dataset folder inside it."""
    try:
        with zipfile.ZipFile(archive) as z:
            bad = z.testzip()  # CRC of every member
            if bad is not None:
                raise DataError(f"{name}.zip from {url} is corrupt (bad member {bad}); try again")
            z.extractall(dest)  # extractall drops absolute and '..' member paths
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise DataError(f"{name}.zip from {url} is not a valid zip ({e}); try again") from e
    # archives usually hold one top folder (horse2zebra/trainA, ...)
    entries = [p for p in dest.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest


def download(name: str, *, root: str | Path, url: str | None = None, force: bool = False,
             spec: DatasetSpec | None = None) -> Path:
    """Fetch dataset `name` into `root` (e.g. data/horse2zebra) and return root.

    `url` overrides the spec's URL (a mirror); `spec` overrides the registry entry (tests use a
    tiny zip with their own expected counts). An existing valid root is returned untouched
    unless force=True."""
    spec = spec or DATASETS.get(name)
    if spec is None:
        raise DataError(f"unknown dataset {name!r}: downloadable ones are {', '.join(DATASETS)}")
    url = url or spec.url
    root = Path(root)
    if root.exists() and not force:
        problems = check_layout(root, spec)
        if not problems:
            return root  # already there and valid: nothing to do
        raise DataError(f"{root} exists but is not a valid {name}: {'; '.join(problems)} "
                        f"(move it away, or download again with force=true to replace it)")
    root.parent.mkdir(parents=True, exist_ok=True)
    # all work happens in a hidden temp dir beside root: same filesystem, so os.replace is atomic
    work = Path(tempfile.mkdtemp(prefix=f".{root.name}.download.", dir=root.parent))
    try:
        archive = work / f"{name}.zip"
        try:
            _fetch(url, archive, label=f"{name}.zip")
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise DataError(f"download of {name} from {url} failed: {e}") from e
        top = _extract(archive, work / "extracted", name=name, url=url)
        problems = check_layout(top, spec)
        if problems:
            raise DataError(f"{name}.zip from {url} does not hold the expected data: {'; '.join(problems)}")
        previous = work / "previous"
        if root.exists():  # force: move the old copy aside first, delete it only once replaced
            os.replace(root, previous)
        try:
            os.replace(top, root)
        except OSError:
            if previous.exists():
                os.replace(previous, root)
            raise
        return root
    finally:
        shutil.rmtree(work, ignore_errors=True)
