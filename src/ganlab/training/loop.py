"""The training loop: reads top to bottom, and is the one place that advances the step, the data
position and the schedulers. One phase's grads, precision and optimizer step live in step.py;
bookkeeping and I/O in run.py; what a run is built from, and a resume, in prepare.py."""

from __future__ import annotations

import logging
import traceback

import torch

from ganlab import signals
from ganlab.algorithms.base import StepContext
from ganlab.callbacks.loggers import Loggers
from ganlab.data.loader import Position
from ganlab.errors import GanlabError, NonFiniteError, command_line
from ganlab.files import remove_stale_temps
from ganlab.training.resume import lower_lr_command
from ganlab.training.run import Run
from ganlab.training.run_dir import RunDirLock
from ganlab.training.runtime import to_device

log = logging.getLogger("ganlab")


def train(run: Run) -> dict:
    """Train `run` (from prepare_run) in its directory, which exists by now. Returns the summary
    (also written to summary.json): status ok, interrupted (a stop request or
    trainer.stop_at_step; resumable) or failed (non-finite values; the error says where)."""
    cfg = run.cfg
    _open_run_dir(run)
    stop_at = cfg.trainer.get("stop_at_step")
    status, error = "ok", None
    try:
        run.emit("on_train_start")
        if run.pending_eval:  # the evaluation a stop request abandoned, before going on
            run.evaluate()
        run.write_requested_checkpoints()
        run.stop_reason = run.agree_stop(signals.requested())
        while run.step < run.total_steps and not run.stop_reason:
            for batch in run.batches.epoch(run.pos):
                batch = to_device(batch, run.device, channels_last=cfg.trainer.get("channels_last", False))
                ctx = StepContext(step=run.step, epoch=run.epoch)
                due = run.phase_runner.due(run.step)    # what the algorithm declared
                metrics = {}
                for phase in due:
                    metrics |= run.phase_runner.run(phase, batch, ctx)
                for name in dict.fromkeys(p.optimizer_name for p in due):
                    run.schedulers[name].step()
                run.step += 1
                run.pos.batch += 1
                run.step_end(metrics)                   # logging, eval, then this step's checkpoints
                run.stop_reason = run.agree_stop(signals.requested() or (
                    f"trainer.stop_at_step={stop_at}" if run.step == stop_at else None))
                if run.step >= run.total_steps or run.stop_reason:
                    break
            else:
                run.pos = Position(epoch=run.epoch + 1, batch=0)
        if run.step < run.total_steps:
            status = "interrupted"
            log.warning("stopped at step %d (%s): continue with `%s`", run.step, run.stop_reason,
                        command_line("ganlab", "resume", run.dir.absolute()))
    except NonFiniteError as e:
        status, error = _non_finite(run, e)
    except BaseException as e:  # bad data mid-run, a bug, a second Ctrl-C: record it, keep the dir
        _fail(run, e)
        raise
    run.emit("on_train_end", status)
    try:
        run.write_requested_checkpoints()
    except NonFiniteError as e:  # state an unlogged last step broke (logged steps check it): refused here
        status, error = _non_finite(run, e)
    summary = run.write_summary(status, error=error)
    _close(run)
    return summary


def _open_run_dir(run: Run) -> None:
    run.dir.mkdir(parents=True, exist_ok=True)  # Hydra made it already; direct callers may not have
    if not run.ranks.is_main:  # over several processes rank 0 alone writes in the run directory
        return
    if run.lock is None:
        run.lock = RunDirLock(run.dir).acquire()
    log.info("run dir %s", run.dir)  # a line of its own: with the figures it would wrap at 120 columns
    log.info("%s", banner(run))
    if run.config_groups:  # nothing implicit: which presets and tuned defaults this run is made of
        groups = run.config_groups
        for line in _lines([f"{k}={v}" for k, v in groups.items() if k != "tuned"], first="config: "):
            log.info("%s", line)
        if "tuned" in groups:
            log.info("tuned defaults applied: %s (command-line overrides win)", groups["tuned"])
    if run.cfg.get("resume"):  # said again now that train.log is open
        log.info("resumed %s from %s at step %d", run.dir, run.resumed_from or "nothing (no checkpoint yet)", run.step)
    run.beat()
    for stale in remove_stale_temps(run.ckpt_dir) + remove_stale_temps(run.dir):
        log.info("removed %s, left by a write that was cut off", stale)
    # a resumed run re-logs the steps after its checkpoint: drop what the stopped run logged there.
    # No logger (~logger): an empty fan-out, so the callbacks that log need no special case
    purge = run.step + 1 if run.resumed_from is not None else None
    run.logger = Loggers(run.loggers, run_dir=run.dir, purge_step=purge)
    if run.resume_changes:  # in summary.json's events, TensorBoard and train.log: what this resume changed
        run.event("resume", "changed on resume: " + ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in
                                                               run.resume_changes.items()), changed=run.resume_changes)


CONSOLE_TEXT = 110  # a console line's text after its `HH:MM:SS ` (120 columns in all)


def _lines(items: list[str], *, first: str, width: int = CONSOLE_TEXT) -> list[str]:
    """`items` over lines of at most `width` characters (a longer item gets its own line); the
    lines after the first indented under `first`."""
    lines, line, empty = [], first, True
    for item in items:
        if not empty and len(line) + 2 + len(item) > width:
            lines.append(line)
            line, empty = " " * len(first), True
        line += ("" if empty else "  ") + item
        empty = False
    return lines + [line]


def banner(run: Run) -> str:
    """How this run trains: device, precision, processes, network sizes, steps."""
    device = str(run.device)
    if run.device.type == "cuda":
        device += f" ({torch.cuda.get_device_name(run.device)})"
    sizes = ", ".join(f"{name} {sum(p.numel() for p in m.parameters()) / 1e6:.2f}M"
                      for name, m in run.algorithm.modules().items() if name in run.cfg.model.networks)
    return (f"device {device} | precision {run.cfg.trainer.precision} | "
            f"{run.ranks.world_size} process(es) | parameters: {sizes} | {run.total_steps} steps")


def _non_finite(run: Run, e: NonFiniteError) -> tuple[str, str]:
    """The run's status and error after non-finite values stopped it, said with what is kept."""
    log.error("stopping: %s. %s", e, _kept_checkpoint(run))
    return "failed", str(e)


def _kept_checkpoint(run: Run) -> str:
    last = run.ckpt_dir / "last.pt"
    if not last.is_file():
        return "No checkpoint was written."
    retry = lower_lr_command(run.dir, run.cfg, run.resume_changes)
    return f"The last good checkpoint is kept: {last}" + (f"; resume it with a lower learning rate: `{retry}`"
                                                            if retry else "")


def _fail(run: Run, e: BaseException) -> None:
    interrupted = isinstance(e, KeyboardInterrupt)
    if isinstance(e, GanlabError):
        log.error("%s", e)
    elif not interrupted:
        log.error("run failed:\n%s", "".join(traceback.format_exception(e)))
    try:
        run.write_summary("interrupted" if interrupted else "failed", error=f"{type(e).__name__}: {e}")
    finally:
        _close(run)


def _close(run: Run) -> None:
    if run.logger is not None:
        run.logger.close()
        run.logger = None
    if run.lock is not None:
        run.lock.release()
        run.lock = None
