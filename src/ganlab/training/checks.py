"""The checks of a run's config and directory that need no torch: `ganlab train` runs them before
it imports what builds the run, so bad input costs no `import torch` before its one line."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from ganlab.config.schema import validate
from ganlab.config.trusted import check_targets
from ganlab.errors import UsageError, command_line
from ganlab.training.data_kind import check_data_fits
from ganlab.training.run_dir import check_writable, checkpoints_in


def check_before_build(cfg: DictConfig, run_dir: Path) -> None:
    """The config (schema; on resume, the stored overrides' targets), where the run writes, and
    whether the data fits the model. UsageError / ConfigError naming what to fix."""
    run_dir = Path(run_dir)
    validate(cfg)
    check_writable(run_dir)
    if cfg.get("resume"):
        check_targets(cfg, source=f"{run_dir / '.hydra' / 'overrides.yaml'}")
    elif checkpoints_in(run_dir / "checkpoints"):
        raise UsageError(f"{run_dir} already holds a run (checkpoints/): continue it with "
                         f"`{command_line('ganlab', 'resume', run_dir)}`, or choose another hydra.run.dir")
    check_data_fits(cfg)
