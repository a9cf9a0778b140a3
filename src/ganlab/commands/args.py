"""Argument types shared by the commands (Click's own types do the rest): checked here, with errors
that name the option."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import click

from ganlab.errors import GanlabError, UsageError

DEVICE = click.option("--device", default="auto", show_default=True, help="auto (cuda if available), cpu, cuda, cuda:N")
RUN_OR_CKPT = click.argument("ckpt", metavar="RUN_DIR|CKPT", type=click.Path(exists=True))


def checkpoint_in(path: str) -> Path:
    """A checkpoint file as given, or a run directory's best one (checkpoints/best.pt, else last.pt)."""
    p = Path(path)
    if p.is_file():
        return p
    for name in ("best.pt", "last.pt"):
        if (p / "checkpoints" / name).is_file():
            return p / "checkpoints" / name
    raise UsageError(f"{path}: no checkpoints/best.pt or checkpoints/last.pt in it; "
                     "give a run directory with checkpoints, or a .pt file")


def writable_output(path, option: str = "--out"):
    """`path` (a file to write) as a Path whose folder exists and is writable, else a clear error."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{option} {path}: cannot create its folder ({e.strerror})") from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path}: not writable here; choose another {option}")
    return path


def names_from(text: str, allowed, option: str) -> list[str]:
    """A comma-separated list of names out of `allowed`, at least one; else an error naming the option."""
    chosen = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in allowed]
    if unknown or not chosen:
        raise click.BadParameter(f"{','.join(unknown)}: choose from {','.join(allowed)}", param_hint=option)
    return chosen


# the core's advice in override syntax, said as sample / eval / translate's options
# (`trainer.device=cpu` -> `--device cpu`; a whole phrase where no option matches key for key)
DEVICE_OPTION = {"trainer.device": "--device"}


def in_option_syntax(options):
    """Decorates a command: a ganlab error it raises speaks this command's options. `options`
    maps a config key (its `key=value` becomes `option value`) or a whole phrase to its wording;
    or is a function returning that map (imports it needs wait until an error)."""
    def wrap(command):
        @functools.wraps(command)
        def run(*args, **kwargs):
            try:
                return command(*args, **kwargs)
            except GanlabError as e:
                text = str(e)
                for said, option in (options() if callable(options) else options).items():
                    if "=" in said or " " in said:  # a phrase
                        text = text.replace(said, option)
                    else:
                        text = re.sub(rf"{re.escape(said)}=([^\s`,;)]+)", lambda m, o=option: f"{o} {m.group(1)}", text)
                        text = text.replace(said, option)
                if text == str(e):
                    raise
                raise type(e)(text) from e
        return run
    return wrap
