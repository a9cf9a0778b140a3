"""The one family of errors a user can fix. Each message names what to fix: the config key, the
file, or the command to run. `ganlab` prints such an error as one line (no traceback) and exits
with its `exit_code`; any other exception is a bug and shows its traceback (exit 1)."""

from __future__ import annotations

import shlex


def command_line(*words: object) -> str:
    """A command for the user to run, e.g. `ganlab resume <run dir>`: each word quoted for a POSIX
    shell, so a run dir named `seed=8,trainer.max_steps=1000` or with spaces runs as printed."""
    return " ".join(shlex.quote(str(w)) for w in words)


class GanlabError(Exception):
    """Bad input or a situation the user must resolve (exit 2 unless a subclass says otherwise)."""

    exit_code = 2


class UsageError(GanlabError):
    """A command line that cannot be carried out as given."""


class ConfigError(GanlabError, ValueError):
    """A config value of the wrong type or out of range; the message names the key."""


class DataError(GanlabError):
    """Bad or missing data: the message names the path / key to fix and how."""


class MetricsError(GanlabError):
    """A metric cannot be computed as configured; the message says which config key to fix."""


class CheckpointError(GanlabError):
    """A checkpoint that cannot be used: missing, unreadable, unsafe or non-finite."""


class RunDirLocked(GanlabError):
    """Another live process trains in this run directory."""


class DiskFull(GanlabError):
    """No space left where ganlab writes: not bad input, but nothing a traceback would help with."""

    exit_code = 1


class NonFiniteError(GanlabError):
    """A loss, parameter, buffer or optimizer state became NaN/Inf: the run stops (status failed)."""

    exit_code = 1
