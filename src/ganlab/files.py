"""Atomic file writes: a reader or a crash sees the old file or the new one, never half of one.

Test-only fault hook: with GANLAB_TEST_PAUSE_IN_WRITE=<marker path> set, a write of a `*.pt` file
(only of the one named by GANLAB_TEST_PAUSE_NAME, when that is set) touches the marker once its
temp file is complete and fsynced, then sleeps an hour before the rename, so a test can `kill -9`
the process mid-checkpoint. Never set it outside tests.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from ganlab.errors import DiskFull

# ganlab's temp files, and only they: `.ganlab-tmp.<writer pid>.<mkstemp's 8 random chars>.<name>`
TEMP_PREFIX = ".ganlab-tmp."
_TEMP_NAME = re.compile(r"^\.ganlab-tmp\.([1-9][0-9]*)\.[a-z0-9_]{8}\..+$")
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
_PAUSE_ENV = "GANLAB_TEST_PAUSE_IN_WRITE"


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same directory, fsync, os.replace."""
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_file(path)
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        _test_pause(path)
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(path.parent)  # the rename itself must survive a power cut
    except OSError as e:
        if e.errno in _NO_SPACE:
            raise DiskFull(f"no space left on device writing {path} (the previous file is kept): "
                           f"free space there or point the output (e.g. hydra.run.dir) elsewhere") from e
        raise
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def keep_copy(path: Path, copy: Path) -> None:
    """Make `copy` a second name of `path` (a hard link, swapped in atomically): `path` itself
    stays in place, so a reader never finds it missing while it is being replaced."""
    if copy.exists() and os.path.samefile(path, copy):  # killed before path's new write: rename of two links is a no-op
        return
    fd, tmp = temp_file(copy)
    os.close(fd)
    os.unlink(tmp)
    try:
        os.link(path, tmp)
    except OSError:  # no hard links on this file system: move it (path is briefly absent)
        os.replace(path, copy)
        return
    os.replace(tmp, copy)


def temp_file(path: Path) -> tuple[int, str]:
    """A new temp file beside `path` (fd, name), named so that remove_stale_temps knows it is
    ganlab's and which process writes it."""
    return tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}.", suffix=f".{path.name}", dir=path.parent)


def atomic_save_image(path: str | Path, tensor, **save_image_args) -> None:
    """torchvision's save_image, encoded in memory in the format of `path`'s extension, then
    written atomically: a failed encode or write leaves the previous file whole."""
    from torchvision.utils import save_image

    buf = io.BytesIO()
    save_image(tensor, buf, format=image_format(path), **save_image_args)
    atomic_write_bytes(path, buf.getvalue())


def atomic_save_figure(path: str | Path, fig, **savefig_args) -> None:
    """A matplotlib figure, rendered in memory in the format of `path`'s extension, written atomically."""
    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lower().lstrip("."), **savefig_args)
    atomic_write_bytes(path, buf.getvalue())


def image_format(path: str | Path) -> str:
    """PIL's format name for `path`'s extension (`.png` -> PNG); ValueError if PIL cannot write it."""
    from PIL import Image

    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise ValueError(f"unknown image extension {Path(path).suffix or '(none)'!r}")
    return fmt


def remove_stale_temps(directory: str | Path) -> list[Path]:
    """Delete the temp files that an interrupted atomic write of ganlab left in `directory` (not
    recursive): names made by temp_file only, and never while the process that writes one lives."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for p in sorted(directory.iterdir()):
        m = _TEMP_NAME.match(p.name)
        if m and p.is_file() and not p.is_symlink() and not _alive(int(m.group(1))):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    """Whether another process with this pid runs (ours: its writes are not in progress now)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _test_pause(path: Path) -> None:
    marker, name = os.environ.get(_PAUSE_ENV), os.environ.get("GANLAB_TEST_PAUSE_NAME")
    if marker and path.name.endswith(".pt") and name in (None, path.name):
        Path(marker).touch()
        time.sleep(3600)
