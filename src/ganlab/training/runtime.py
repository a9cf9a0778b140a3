"""Device, precision and determinism: decided here once, so AMP / compile / DDP slot in here."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

from ganlab.errors import ConfigError

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device(name: str, *, local_rank: int = 0) -> torch.device:
    """The device of trainer.device; under torchrun, `cuda` is this process's GPU (LOCAL_RANK)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and torch.cuda.is_available():
        return torch.device("cuda", local_rank)
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("trainer.device=cuda but no CUDA device is visible; use trainer.device=cpu or auto")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise ConfigError(f"trainer.device={name!r}: choose auto, cpu or cuda")
    return torch.device(name)


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


class Precision:
    """Autocast context and gradient scaler for one precision: 32 | bf16 | fp16."""

    def __init__(self, precision: str | int, device: torch.device):
        precision = str(precision)
        if precision not in ("32", "bf16", "fp16"):
            raise ConfigError(f"trainer.precision={precision!r}: choose 32, bf16 or fp16")
        self.device = device
        self.dtype = _DTYPES.get(precision)
        # fp16 needs loss scaling against underflow; bf16 has fp32's range and does not
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)


def to_device(batch: dict, device: torch.device, *, channels_last: bool = False) -> dict:
    out = {}
    for k, v in batch.items():
        v = v.to(device, non_blocking=True)
        if channels_last and v.dim() == 4:
            v = v.contiguous(memory_format=torch.channels_last)
        out[k] = v
    return out
