"""A run directory's guards: one process at a time trains in it (a lock the kernel releases when
the holder dies, even on kill -9), and where a run to resume lives."""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import time
from pathlib import Path

import yaml

from ganlab.config import override_key
from ganlab.config.trusted import check_saved_override
from ganlab.errors import RunDirLocked, UsageError

LOCK_NAME = ".lock"


class RunDirLock:
    """An exclusive flock on <run dir>/.lock, holding the holder's PID and host for the message
    a second process gets. A lock left by a killed process is free again: flock dies with it."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> RunDirLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunDirLocked(f"{self.path.parent} is in use by another ganlab process ({holder}): wait for it "
                               f"to finish or stop it; a killed process leaves the directory free") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        os.fsync(fd)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"PID {info['pid']} on {info['host']}, since {info['since']}"
    except (ValueError, KeyError, OSError):
        return "holder unknown"


def resume_target(resume: str) -> tuple[Path, Path | None]:
    """(run dir, checkpoint file or None) named by `resume=`: a run dir (its newest loadable
    checkpoint is used; none yet means the run starts from step 0 in place) or a checkpoint file."""
    p = Path(resume)
    if p.is_dir():
        if not (p / ".hydra" / "overrides.yaml").is_file():
            raise UsageError(f"resume={resume}: not a ganlab run directory (no .hydra/overrides.yaml in it)")
        return p, None
    if p.is_file():
        run_dir = p.parent.parent
        if not (run_dir / ".hydra" / "overrides.yaml").is_file():
            raise UsageError(f"resume={resume}: a checkpoint must sit in <run dir>/checkpoints/ "
                             f"(no {run_dir / '.hydra' / 'overrides.yaml'})")
        return run_dir, p
    raise UsageError(f"resume={resume}: no such run directory or checkpoint")


def saved_overrides(run_dir: Path, file: str = "overrides.yaml") -> list[str]:
    """The command-line overrides a run was started with (untrusted input: a list of strings,
    checked by config.trusted.check_saved_override): the task's (overrides.yaml), or of Hydra's
    own (hydra.yaml: hydra.overrides.hydra) only hydra.searchpath, the user's config folders."""
    path = run_dir / ".hydra" / file
    try:
        saved = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    if file == "hydra.yaml":
        saved = ((saved or {}).get("hydra") or {}).get("overrides", {}).get("hydra", []) if isinstance(saved, dict) else []
    if not isinstance(saved, list) or not all(isinstance(o, str) for o in saved):
        raise UsageError(f"{path} is not a list of overrides: repair it or start a new run")
    if file == "hydra.yaml":
        return [_searchpath(o, path) for o in saved if override_key(o) == "hydra.searchpath"]
    for o in saved:
        check_saved_override(o, source=str(path))
    return saved


def _searchpath(override: str, source: Path) -> str:
    """hydra.searchpath=[...] as saved: a list of folders, quoted anew (nothing else passes)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        folders = OverridesParser.create().parse_override(override).value()
    except (HydraException, ValueError):
        folders = None
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise UsageError(f"{source}: {override!r} is not a list of config folders: repair it or start a new run")
    return "hydra.searchpath=[" + ",".join(hydra_quote(f) for f in folders) + "]"


def hydra_quote(value: str) -> str:
    """`value` as one string in Hydra's override grammar, whatever it holds (`=`, `,`, spaces, quotes)."""
    if "${" in value:  # Hydra resolves it as an interpolation even when quoted and escaped
        raise UsageError(f"{value}: a path holding '${{' cannot pass through Hydra; rename it")
    # Hydra's escapes: backslashes only before a quote or at the end of the value
    value = re.sub(r"(\\*)('|$)", lambda m: m.group(1) * 2 + ("\\'" if m.group(2) else ""), value)
    return "'" + value + "'"


# what a run writes in its directory: found as the wrong kind of thing (a folder named last.pt),
# it would fail the run at its first write, after the training it could not save
WRITTEN_FILES = (LOCK_NAME, "summary.json", "heartbeat.json", "train.log", "metrics.csv",
                 "checkpoints/last.pt", "checkpoints/best.pt", "checkpoints/previous.pt")
WRITTEN_DIRS = (".hydra", "checkpoints", "tb", "samples", "wandb")


def check_writable(run_dir: Path) -> None:
    """UsageError naming the path when the run could not write where it will: hydra.run.dir (or a
    folder above it) is a file or read-only, or a file the run writes is a folder (or the reverse)."""
    run_dir = Path(run_dir)
    existing = next(p for p in (run_dir, *run_dir.parents) if p.exists() or p == Path(p.anchor))
    if not existing.is_dir():
        raise UsageError(f"hydra.run.dir={run_dir}: {existing} is a file, not a folder: choose another hydra.run.dir")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"hydra.run.dir={run_dir}: {existing} is not writable: choose another hydra.run.dir")
    for name in WRITTEN_FILES:
        if (run_dir / name).is_dir():
            raise UsageError(f"{run_dir / name} is a folder where the run writes a file: move it away")
    for name in WRITTEN_DIRS:
        if (run_dir / name).exists() and not (run_dir / name).is_dir():
            raise UsageError(f"{run_dir / name} is a file where the run writes a folder: move it away")
        if (run_dir / name).is_dir() and not os.access(run_dir / name, os.W_OK | os.X_OK):
            raise UsageError(f"{run_dir / name} is not writable: fix its permissions or choose another hydra.run.dir")


def checkpoints_in(ckpt_dir: str | Path) -> list[Path]:
    """The checkpoints of a run: `*.pt` files, not hidden ones (pathlib's glob matches dot files,
    and a write cut off by a kill leaves a complete `.ganlab-tmp.*.pt` that is no checkpoint)."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    return [p for p in ckpt_dir.glob("*.pt") if not p.name.startswith(".") and p.is_file()]
