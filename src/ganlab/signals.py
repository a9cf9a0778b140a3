"""Stop requests (SIGTERM or SIGUSR2 from a scheduler, Ctrl-C): installed first thing, before torch is even
imported, so a signal during start-up is never lost. Training stops at the next safe point,
writes its checkpoint and exits 128 + the signal number (status `interrupted`, resumable).
A second Ctrl-C interrupts at once."""

from __future__ import annotations

import signal

_requested: int | None = None


class Interrupted(Exception):
    """Raised at a safe point (start-up, evaluation) once a stop was requested."""


def _handler(signum, frame) -> None:
    global _requested
    if _requested is not None and signum == signal.SIGINT:
        raise KeyboardInterrupt
    _requested = signum


def install(signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR2)) -> dict:
    """Catch these as stop requests (SIGUSR2: SLURM's `--signal=USR2@120` before a time limit or
    a preemption). Returns the handlers replaced (a job system's own, e.g. submitit's requeue)."""
    return {sig: signal.signal(sig, _handler) for sig in signals}


def requested() -> str | None:
    """The name of the signal that asked to stop (SIGTERM, SIGINT, SIGUSR2), or None."""
    return None if _requested is None else signal.Signals(_requested).name


def check() -> None:
    if _requested is not None:
        raise Interrupted(f"stopped by {requested()}")


def exit_code() -> int:
    """128 + the signal number, the shell's convention (143 for SIGTERM, 130 for SIGINT)."""
    return 128 + (_requested or 0)
