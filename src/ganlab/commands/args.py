"""key=value arguments of the commands other than `train` (which takes Hydra overrides): parsed
and checked here, with errors that name the key."""

from __future__ import annotations

import os
from pathlib import Path

from ganlab.errors import UsageError


def parse_kv(args: list[str], *, required: tuple[str, ...] = (), allowed: tuple[str, ...] = ()) -> dict:
    """key=value arguments of the non-Hydra commands, with errors that name the key."""
    out = {}
    for a in args:
        if "=" not in a:
            raise UsageError(f"expected key=value, got {a!r}")
        k, v = a.split("=", 1)
        if allowed and k not in allowed:
            raise UsageError(f"unknown argument {k!r}; expected one of: {', '.join(allowed)}")
        out[k] = v
    missing = [k for k in required if k not in out]
    if missing:
        raise UsageError(f"missing argument(s): {', '.join(f'{k}=...' for k in missing)}")
    return out


def arg_int(kv: dict, key: str, default: int, *, min_value: int = 1) -> int:
    """An integer key=value argument, checked: a clear error names the key and what is allowed."""
    raw = kv.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise UsageError(f"{key}={raw}: must be an integer >= {min_value}") from None
    if value < min_value:
        raise UsageError(f"{key}={raw}: must be an integer >= {min_value}")
    return value


def writable_output(path, key: str = "out"):
    """`path` (a file to write) as a Path whose folder exists and is writable, else a clear error."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{key}={path}: cannot create its folder ({e.strerror})") from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{key}={path}: not writable here; choose another {key}=")
    return path
