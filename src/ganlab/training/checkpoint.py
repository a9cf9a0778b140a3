"""Checkpoints: written atomically, loaded with weights_only=True (never unsafe unpickling)."""

from __future__ import annotations

import io
import logging
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganlab.errors import CheckpointError, NonFiniteError
from ganlab.files import atomic_write_bytes, keep_copy
from ganlab.training.run_dir import checkpoints_in  # kept as ckpt_io.checkpoints_in

log = logging.getLogger("ganlab")

__all__ = ["CheckpointError", "load", "load_for_inference", "load_newest", "nonfinite", "rng_state",
           "save_atomic", "serialize", "set_rng_state", "write"]


def nonfinite(state: Any, prefix: str = "") -> list[str]:
    """Dotted names of the floating/complex tensors in a nested dict/list/tuple that hold NaN/Inf."""
    leaves = list(_float_leaves(state, prefix))
    if not leaves:
        return []
    # one min/max pass per tensor (NaN and +-Inf show in them, finite values cannot overflow) and
    # one sync for all, not one per tensor (cost: docs/BENCHMARKS.md, the fixed costs of a short run)
    ends = torch.stack([torch.stack(t.aminmax()).to("cpu", torch.float64) for _, t in leaves])
    finite = torch.isfinite(ends).all(dim=1).tolist()
    return [name for (name, _), ok in zip(leaves, finite, strict=True) if not ok]


def _float_leaves(state: Any, prefix: str):
    if isinstance(state, torch.Tensor):
        if state.is_complex():
            state = torch.view_as_real(state)
        if state.is_floating_point() and state.numel():
            yield prefix or "<tensor>", state.detach()
        return
    if isinstance(state, dict):
        items = state.items()
    elif isinstance(state, list | tuple):
        items = enumerate(state)
    else:
        return
    for k, v in items:
        yield from _float_leaves(v, f"{prefix}.{k}" if prefix else str(k))


def serialize(state: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def write(state: dict, paths: list[Path], *, previous: Path | None = None) -> None:
    """Write one serialisation of `state` to every path; refuses NaN/Inf so a good checkpoint is
    never replaced by a poisoned one. With `previous`, the existing last path is kept there."""
    bad = nonfinite(state)
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise NonFiniteError(f"non-finite values in {', '.join(bad[:5])}{more}: no checkpoint was written")
    data = serialize(state)
    paths = list(map(Path, paths))
    for path in paths:
        if path == paths[-1] and previous is not None and path.exists():
            keep_copy(path, previous)
        atomic_write_bytes(path, data)


def save_atomic(obj: Any, path: str | Path) -> None:
    atomic_write_bytes(path, serialize(obj))


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not zipfile.is_zipfile(path) and not _legacy_pickle(path):
        raise CheckpointError(f"{path} is not a ganlab checkpoint (not a file torch.save wrote; "
                              f"checkpoints are <run dir>/checkpoints/*.pt)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # no fallback to unsafe loading, by design
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()] or [type(e).__name__]
        why = next((ln for ln in lines if "Unsupported global" in ln or "Unpickler error" in ln), lines[0])
        raise CheckpointError(f"cannot load checkpoint {path} with weights_only=True: {why}") from e
    if isinstance(state, dict):
        check_resolved(state.get("config"), source=str(path))
    return state


def _legacy_pickle(path: Path) -> bool:
    """torch.save's format before 1.6: a pickle (protocol 2 starts with 0x80 0x02)."""
    with open(path, "rb") as f:
        return f.read(1) == b"\x80"


_INTERPOLATION = re.compile(r"(?<!\\)\$\{")


def check_resolved(config: Any, *, source: str, key: str = "config") -> None:
    """A checkpoint stores its config resolved: an interpolation in it (`${oc.env:HOME}`, an unknown
    resolver) was put there by someone else, and resolving it would read the environment or run
    a resolver on their behalf. Refused, never resolved."""
    if isinstance(config, str) and _INTERPOLATION.search(config):
        raise CheckpointError(f"{source} holds an interpolation at {key} ({config[:60]!r}): a checkpoint's config "
                              f"is stored resolved, so this one was edited; ganlab does not resolve it")
    items = config.items() if isinstance(config, dict) else enumerate(config) if isinstance(config, list | tuple) else ()
    for k, v in items:
        check_resolved(v, source=source, key=f"{key}.{k}")


def load_newest(ckpt_dir: str | Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict]:
    """The newest checkpoint in `ckpt_dir` that loads, is finite and has a step; skips the rest."""
    ckpt_dir = Path(ckpt_dir)
    found = checkpoints_in(ckpt_dir)
    if not found:
        raise CheckpointError(f"{ckpt_dir} holds no checkpoint (*.pt)")
    # last.pt and best.pt can share an mtime: last.pt is the one to resume from
    found.sort(key=lambda p: (-p.stat().st_mtime, p.name != "last.pt", p.name))
    tried = []
    for p in found:
        try:
            state = load(p, map_location)
        except CheckpointError as e:
            reason = (str(e.__cause__ or e).splitlines() or [type(e.__cause__ or e).__name__])[0]
        else:
            bad = nonfinite(state)
            if bad:
                reason = f"non-finite values in {', '.join(bad[:5])}"
            elif not isinstance(state, dict) or "step" not in state:
                reason = "no 'step' key (not a training checkpoint)"
            else:
                return p, state
        log.warning("skipping checkpoint %s: %s", p, reason)
        tried.append(f"{p.name} ({reason})")
    raise CheckpointError(f"no usable checkpoint in {ckpt_dir}: tried {'; '.join(tried)}")


def load_for_inference(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """`load`, refusing weights with NaN/Inf (samples from them would be garbage)."""
    state = load(path, map_location)
    bad = nonfinite(state.get("modules", {}), "modules") if isinstance(state, dict) else []
    if bad:
        raise CheckpointError(f"{path} holds non-finite weights ({', '.join(bad[:5])}): "
                              f"use an earlier checkpoint (e.g. previous.pt) of that run")
    return state


def rng_state() -> dict:
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        # numpy arrays are not allowed by weights_only loading: store the key as a tensor
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(_tuples(state["python"]))
    name, key, *rest = state["numpy"]
    np.random.set_state((name, key.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(x):
    """random.setstate wants tuples where serialisation may have produced lists."""
    return tuple(_tuples(v) for v in x) if isinstance(x, list | tuple) else x
