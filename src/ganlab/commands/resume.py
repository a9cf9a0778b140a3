"""`ganlab resume RUN [overrides]`: continue a run, named by its directory or a checkpoint in it.
The path is taken as typed, never read by Hydra's override parser, so a run dir named by its
overrides (`2026-12-05/08-00-00_seed=8,trainer.max_steps=1000`), or with spaces or quotes, resumes."""

from __future__ import annotations

import click

from ganlab.commands.completion import complete_override
from ganlab.config import override_key
from ganlab.errors import UsageError


@click.command("resume", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("run", type=click.Path(exists=True))
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED, shell_complete=complete_override)
def command(run: str, overrides: tuple[str, ...]) -> None:
    """Continue RUN (a run directory, or a checkpoint in its checkpoints/) from its newest loadable
    checkpoint; overrides that may change on resume (trainer.max_steps=..., schedule.lr_g=...) apply."""
    from ganlab.commands.train import main
    if any(override_key(o) == "resume" for o in overrides):
        raise UsageError("resume=: RUN already names the run to continue; drop resume=")
    main([*overrides, f"resume={run}"])  # with_resume takes an existing path as typed and quotes it for Hydra
