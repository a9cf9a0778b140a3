"""Stop requests (SIGTERM from a scheduler, Ctrl-C): installed first thing, before torch is even
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


def install() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _handler)


def requested() -> str | None:
    """The name of the signal that asked to stop (SIGTERM, SIGINT), or None."""
    return None if _requested is None else signal.Signals(_requested).name


def check() -> None:
    if _requested is not None:
        raise Interrupted(f"stopped by {requested()}")


def exit_code() -> int:
    """128 + the signal number, the shell's convention (143 for SIGTERM, 130 for SIGINT)."""
    return 128 + (_requested or 0)
