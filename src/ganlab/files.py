"""Atomic file writes: a reader or a crash sees the old file or the new one, never half of one.

Test-only fault hook: with GANLAB_TEST_PAUSE_IN_WRITE=<marker path> set, a write of a `*.pt` file
touches the marker once its temp file is complete and fsynced, then sleeps an hour before the
rename, so a test can `kill -9` the process mid-checkpoint. Never set it outside tests.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from ganlab.errors import DiskFull

# names made by tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp") below
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$")
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
_PAUSE_ENV = "GANLAB_TEST_PAUSE_IN_WRITE"


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same directory, fsync, os.replace."""
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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


def remove_stale_temps(directory: str | Path) -> list[Path]:
    """Delete temp files that an interrupted atomic write left in `directory` (not recursive)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for p in sorted(directory.iterdir()):
        if _TEMP_NAME.match(p.name) and p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _test_pause(path: Path) -> None:
    marker = os.environ.get(_PAUSE_ENV)
    if marker and path.name.endswith(".pt"):
        Path(marker).touch()
        time.sleep(3600)
