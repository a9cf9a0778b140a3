"""Data-parallel training over processes started by torchrun (nccl on GPU, gloo on CPU).

Each rank trains on its slice of the global batch (data.batch_size); gradients are averaged in one
flattened all-reduce after each phase's backward and buffers (BatchNorm statistics) broadcast from
rank 0 after each step, so the ranks stay identical. Not DDP's wrapper: GAN phases call D several
times before one backward, freeze D in G's phase and take double backwards (WGAN-GP, R1), which
its reducer does not support. Rank 0 alone writes and evaluates; the ranks agree once per step on
stopping and on checkpoints, which hold every rank's RNG and algorithm state (the translation pool
is per rank)."""

from __future__ import annotations

import logging
import os
import sys
from datetime import timedelta

import torch
import torch.distributed as dist

from ganlab.errors import ConfigError
from ganlab.training.ranks import ONE, Ranks, from_env  # noqa: F401 (distributed.Ranks, .ONE: the run's ranks)

# a rank waits this long at a collective while rank 0 evaluates (a full FID) or writes
TIMEOUT = timedelta(hours=2)


def init() -> Ranks:
    """Join the process group torchrun describes (idempotent). nccl when CUDA is visible, else gloo."""
    ranks = from_env()
    if ranks.active and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(ranks.local_rank)
        dist.init_process_group(backend, timeout=TIMEOUT)
    return ranks


def finish() -> None:
    """The normal end: wait for every rank (rank 0 evaluates and writes last), then leave together.
    A rank other than 0 then exits at once: it has written nothing, and gloo's threads can still
    abort its interpreter's teardown ("terminate called without an active exception", SIGABRT,
    about 1 run in 15 here), which torchrun reports as a failed run."""
    if not dist.is_initialized():
        return
    rank = dist.get_rank()
    dist.barrier()
    shutdown()
    if rank > 0:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def shutdown() -> None:
    """Leave the process group without waiting for the others (the error path: a peer may be gone)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def _device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def average_gradients(params: list[torch.Tensor]) -> None:
    """Mean of each gradient over ranks: one all-reduce of all of them, flattened."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_buffers(modules, *, params: bool = False) -> None:
    """Rank 0's buffers (and parameters, at start) to every rank: one broadcast per dtype."""
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for m in modules:
        for t in (*m.buffers(), *(m.parameters() if params else ())):
            by_dtype.setdefault(t.dtype, []).append(t.data)
    for group in by_dtype.values():
        flat = torch.cat([t.reshape(-1) for t in group])
        dist.broadcast(flat, src=0)
        offset = 0
        for t in group:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()


def any_rank(*flags: bool) -> list[bool]:
    """Each flag, true if it is true on any rank (one small all-reduce)."""
    t = torch.tensor([float(f) for f in flags], device=_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def gather_to_main(obj) -> list | None:
    """Every rank's `obj` on rank 0 (a list by rank); None on the others."""
    out = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(obj, out, dst=0)
    return out


def broadcast_from_main(obj):
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def check_batch(batch_size: int, ranks: Ranks) -> None:
    if batch_size % ranks.world_size:
        raise ConfigError(f"data.batch_size={batch_size} is the global batch: it must divide evenly over "
                          f"{ranks.world_size} processes")
