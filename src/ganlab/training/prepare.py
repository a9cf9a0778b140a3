"""Everything a run needs before its directory is touched: the config checked (schema; for a
resume, the stored overrides' targets and what may change), the training setup built, the callbacks, and
a resumed run's state loaded. Bad input fails here, before anything is created or changed."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ganlab import signals
from ganlab.data.seeding import mix_seed
from ganlab.errors import CheckpointError, ConfigError, command_line
from ganlab.training import checkpoint as ckpt_io
from ganlab.training import distributed
from ganlab.training.build import build, build_node
from ganlab.training.checks import check_before_build
from ganlab.training.resume import apply_learning_rates, changed_keys, flatten, upgrade_checkpoint
from ganlab.training.run import Run
from ganlab.training.run_dir import RunDirLock
from ganlab.training.runtime import pick_device, seed_everything

log = logging.getLogger("ganlab")


def prepare_run(cfg: DictConfig, run_dir: Path, *, checkpoint: Path | None = None) -> Run:
    """A Run ready to train in `run_dir`. With cfg.resume set, the run continues from `checkpoint`
    (or the newest checkpoint in run_dir that loads; none: from step 0 in place)."""
    run_dir = Path(run_dir)
    check_before_build(cfg, run_dir)
    signals.check()
    ranks = distributed.from_env()
    device = pick_device(cfg.trainer.device, local_rank=ranks.local_rank)
    distributed.check_batch(cfg.data.batch_size, ranks)
    loggers = build_loggers(cfg) if ranks.is_main else {}  # a missing wandb / mlflow: before any building
    seed_everything(cfg.seed, deterministic=cfg.trainer.deterministic)
    setup = build(cfg, device, ranks)
    if ranks.active:  # the same networks everywhere; then each rank its own noise
        distributed.broadcast_buffers(setup.algorithm.modules().values(), params=True)
        if ranks.rank > 0:
            seed_everything(mix_seed(cfg.seed, ranks.rank, _RANK_STREAM), deterministic=cfg.trainer.deterministic)
    run = Run(cfg=cfg, run_dir=run_dir, device=device, setup=setup, callbacks=build_callbacks(cfg), ranks=ranks)
    run.loggers = loggers
    if cfg.get("resume"):
        _resume(run, checkpoint)
    signals.check()
    # an existing directory (a resume) is locked before Hydra rewrites its .hydra/; a new one once created
    run.lock = RunDirLock(run_dir).acquire() if run_dir.is_dir() and ranks.is_main else None
    return run


_RANK_STREAM = 0x7A4C  # keeps the ranks' seeds apart from the loader's and the datasets' streams


def build_callbacks(cfg: DictConfig) -> dict:
    callbacks = {}
    for name, node in (cfg.get("callbacks") or {}).items():
        if node is None:
            continue
        if "_target_" not in node:  # e.g. a preset tunes a callback that the command line removed
            raise ConfigError(f"callbacks.{name} has settings but no _target_: add callbacks={name} "
                              f"back or drop the callbacks.{name}.* overrides")
        callbacks[name] = build_node(node, f"callbacks.{name}")
    return callbacks


def build_loggers(cfg: DictConfig) -> dict:
    """logger=[tensorboard,csv,...]: each under its own key. Built now, so that a missing package
    (wandb, mlflow) stops the run before its directory exists; opened once it does."""
    return {name: build_node(node, f"logger.{name}")
            for name, node in (cfg.get("logger") or {}).items() if node is not None}


def _resume(run: Run, checkpoint: Path | None) -> None:
    ckpt_dir = run.dir / "checkpoints"
    if checkpoint is not None:
        state = ckpt_io.load(checkpoint, map_location=run.device)
        bad = ckpt_io.nonfinite(state)
        if bad:
            raise CheckpointError(f"{checkpoint} holds non-finite values ({', '.join(bad[:3])}): resume from "
                                  f"the run directory instead, which falls back to the newest good checkpoint")
    elif ckpt_io.checkpoints_in(ckpt_dir):
        checkpoint, state = ckpt_io.load_newest(ckpt_dir, map_location=run.device)
    else:
        log.warning("%s has no checkpoint yet: the run starts from step 0 in place", run.dir)
        return
    written_by = state.get("world_size", 1)
    if written_by != run.ranks.world_size:
        launch = ("torchrun", f"--nproc_per_node={written_by}", "-m") if written_by > 1 else ()
        raise CheckpointError(f"{checkpoint} was written by {written_by} process(es): resume it with "
                              f"`{command_line(*launch, 'ganlab', 'resume', checkpoint)}` "
                              f"(each process's random state and data share are in it)")
    upgrade_checkpoint(state, clocked=[k for ev in run.evaluators.values() for k in getattr(ev, "clocked", ())])
    new = OmegaConf.to_container(run.cfg, resolve=True)
    changed = [k for k in changed_keys(state["config"], new) if k != "resume"]
    try:
        run.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as e:  # a checkpoint from another config or version
        raise CheckpointError(f"{checkpoint} does not fit this run's networks: {str(e).splitlines()[0]}") from e
    if any(k.startswith(("schedule.lr", "schedule.optimizer")) for k in changed):
        apply_learning_rates(run.optimizers, run.schedulers, run.cfg)
    run.resumed_from = checkpoint
    old_values, new_values = flatten(state["config"]), flatten(new)
    run.resume_changes = {k: [old_values.get(k, "<absent>"), new_values.get(k, "<absent>")] for k in changed}
    log.info("resuming from %s at step %d%s", checkpoint, run.step,
             f" (changed: {', '.join(changed)})" if changed else "")
