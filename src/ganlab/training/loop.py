"""The training loop: reads top to bottom. Phases, bookkeeping and I/O live in run.py."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from ganlab.data.loader import Position
from ganlab.training import checkpoint as ckpt_io
from ganlab.training.build import build
from ganlab.training.d_inputs import StepContext
from ganlab.training.run import NonFiniteLoss, Run
from ganlab.training.runtime import pick_device, seed_everything, to_device

log = logging.getLogger("ganlab")


def train(cfg: DictConfig, run_dir: Path, *, resume_from: Path | None = None) -> dict:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg.trainer.device)
    seed_everything(cfg.seed, deterministic=cfg.trainer.deterministic)
    parts = build(cfg, device)
    callbacks = {}
    for name, node in (cfg.get("callbacks") or {}).items():
        if node is None:
            continue
        if "_target_" not in node:  # e.g. a preset tunes a callback that the command line removed
            raise ValueError(f"callbacks.{name} has settings but no _target_: add callbacks={name} "
                             f"back or drop the callbacks.{name}.* overrides")
        callbacks[name] = instantiate(node)
    logger = instantiate(cfg.logger, log_dir=str(run_dir / "tb")) if cfg.get("logger") else None
    run = Run(cfg=cfg, run_dir=run_dir, device=device, parts=parts, callbacks=callbacks, logger=logger)
    if resume_from is not None:
        run.load_state_dict(ckpt_io.load(resume_from, map_location=device))
        log.info("resumed from %s at step %d", resume_from, run.step)
    n_critic, stop_at = cfg.schedule.n_critic, cfg.trainer.get("stop_at_step")
    previous = _stop_on_signals(run)     # SIGTERM / Ctrl-C: finish the step, save, stop

    status, error = "ok", None
    run.emit("on_train_start")
    try:
        while run.step < run.total_steps and not run.stop_reason:
            for batch in run.batches.epoch(run.pos):
                batch = to_device(batch, device, channels_last=cfg.trainer.get("channels_last", False))
                run.step_obj.ctx = StepContext(step=run.step, epoch=run.epoch)
                metrics = run.phase("D", run.step_obj.d_step, batch)
                g_turn = (run.step + 1) % n_critic == 0  # one G update per n_critic D updates
                if g_turn:
                    metrics |= run.phase("G", run.step_obj.g_step, batch)
                run.schedulers["D"].step()
                if g_turn:
                    run.schedulers["G"].step()
                run.step += 1
                run.pos.batch += 1
                run.step_end(metrics)                   # logging, eval, checkpoints (callbacks)
                if run.step == stop_at:
                    run.stop_reason = f"trainer.stop_at_step={stop_at}"
                if run.step >= run.total_steps or run.stop_reason:
                    break
            else:
                run.pos = Position(epoch=run.epoch + 1, batch=0)
        if run.step < run.total_steps:
            status = "interrupted"
            log.warning("stopped at step %d (%s): resume with resume=%s", run.step, run.stop_reason, run_dir)
    except NonFiniteLoss as e:
        status, error = "failed", str(e)
        log.error("stopping: %s. The last good checkpoint is kept.", e)
    except Exception as e:  # a bug or a broken input mid-run: record it, keep the checkpoints
        run.write_summary("failed", error=f"{type(e).__name__}: {e}")
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    run.emit("on_train_end", status)
    if logger is not None:
        logger.close()
    return run.write_summary(status, error=error)


def _stop_on_signals(run: Run) -> dict:
    """First SIGTERM/SIGINT asks the loop to stop at the end of the current step (state stays
    consistent for an exact resume); a second Ctrl-C interrupts at once."""

    def request(signum, frame):
        if run.stop_reason and signum == signal.SIGINT:
            raise KeyboardInterrupt
        run.stop_reason = signal.Signals(signum).name

    return {sig: signal.signal(sig, request) for sig in (signal.SIGTERM, signal.SIGINT)}
