"""Fetch public datasets: stream to a temp file, check the zip and its contents, extract beside
the target and move into place atomically. Idempotent; nothing half-written on failure."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import urllib.request
import zipfile
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
    return sum(1 for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS)


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


def _fetch(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:
        total = int(r.headers.get("Content-Length") or 0)
        done = 0
        while chunk := r.read(1 << 20):
            f.write(chunk)
            done += len(chunk)
            if total and sys.stderr.isatty():
                print(f"\r{url.rsplit('/', 1)[-1]}: {done / total:6.1%}", end="", file=sys.stderr)
    if total and sys.stderr.isatty():
        print(file=sys.stderr)


def download(name: str, *, root: str | Path, url: str | None = None, force: bool = False,
             spec: DatasetSpec | None = None) -> Path:
    spec = spec or DATASETS.get(name)
    if spec is None:
        raise DataError(f"unknown dataset {name!r}: downloadable ones are {', '.join(DATASETS)}")
    root = Path(root)
    if root.exists() and not force:
        problems = check_layout(root, spec)
        if not problems:
            return root  # already there and valid: nothing to do
        raise DataError(f"{root} exists but is not a valid {name}: {'; '.join(problems)} "
                        f"(move it away, or pass force=true to replace it)")
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        archive = work / f"{name}.zip"
        try:
            _fetch(url or spec.url, archive)
        except OSError as e:
            raise DataError(f"download of {name} from {url or spec.url} failed: {e}") from e
        try:
            with zipfile.ZipFile(archive) as z:
                bad = z.testzip()
                if bad:
                    raise DataError(f"{name}.zip is corrupt (first bad member: {bad}); try again")
                z.extractall(work / "x")
        except zipfile.BadZipFile as e:
            raise DataError(f"{name}.zip from {url or spec.url} is not a valid zip: {e}") from e
        # archives usually hold one top folder (horse2zebra/trainA, ...)
        top = work / "x"
        entries = [p for p in top.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        if len(entries) == 1 and entries[0].is_dir():
            top = entries[0]
        problems = check_layout(top, spec)
        if problems:
            raise DataError(f"{name}.zip does not hold the expected data: {'; '.join(problems)}")
        if root.exists():  # force=true
            shutil.rmtree(root)
        os.replace(top, root)
        return root
    finally:
        shutil.rmtree(work, ignore_errors=True)
