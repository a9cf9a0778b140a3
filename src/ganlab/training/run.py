"""A run's state and bookkeeping: events, evaluation, checkpoints, heartbeat, summary.json.

The loop (training/loop.py) alone advances the step, the data position and the schedulers; the
phases run in training/step.py (`run.phase_runner`). A step ends in `step_end`: logging callbacks,
then evaluation (when due), then the checkpoints asked for, so a checkpoint holds the state after
EVERYTHING its step did and a run resumed from it ends with the record of one never stopped."""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from ganlab import signals
from ganlab.data.loader import Position
from ganlab.files import atomic_write_json
from ganlab.training import checkpoint as ckpt_io
from ganlab.training import distributed
from ganlab.training.build import TrainingSetup, build_dataset
from ganlab.training.step import PhaseRunner

log = logging.getLogger("ganlab")


class Run:
    def __init__(self, *, cfg: DictConfig, run_dir: Path, device: torch.device, setup: TrainingSetup,
                 callbacks: dict, console: Console | None = None, ranks: distributed.Ranks = distributed.ONE):
        self.cfg, self.dir, self.device, self.ranks = cfg, Path(run_dir), device, ranks
        self.algorithm, self.batches = setup.algorithm, setup.batches
        self.optimizers, self.schedulers = setup.optimizers, setup.schedulers
        self.total_steps = setup.total_steps
        # rank 0 alone evaluates and runs callbacks (logging, checkpoints, samples)
        self.evaluators, self.callbacks = (setup.evaluators, callbacks) if ranks.is_main else ({}, {})
        self._datasets = {"train": setup.batches.samples.dataset}
        self.logger = None  # attached once the run directory exists (training/loop.py)
        self.loggers: dict = {}  # what it is made of: built and checked in prepare.py, opened then
        self.console = console or Console()
        self.phase_runner = PhaseRunner(algorithm=self.algorithm, optimizers=self.optimizers,
                                        precision=cfg.trainer.precision, device=device, total_steps=self.total_steps,
                                        log_every=cfg.trainer.log_every, accumulate=cfg.trainer.get("accumulate", 1),
                                        check_every=cfg.trainer.get("check_finite_every", 1), ranks=ranks)
        self.step, self.pos = 0, Position()
        self.stop_reason: str | None = None
        self.events: list[dict] = []
        self.metrics: dict[str, float] = {}        # the newest logged / evaluated value of each metric
        self.timings: dict[str, float] = {}        # the newest clock-derived value (an evaluator's `clocked`)
        # the newest value of each training stat, device tensors until a logged step writes them all
        self.pending_stats: dict[str, torch.Tensor | float] = {}
        self.fresh: set[str] = set()               # the stats the step that just ran produced
        self.protocols: dict[str, dict] = {}
        self.pending_eval = False   # an evaluation abandoned by a stop request: redone on resume
        self.save_requests: list[str] = []         # checkpoint file names to write at the end of this step
        self.elapsed_before = 0.0   # wall time of earlier sessions of this run (resume)
        self.resumed_from: Path | None = None
        self.resume_changes: dict[str, list] = {}  # key -> [value in the checkpoint, value now], set on resume
        self.config_groups: dict[str, str] = {}  # the option of each config group (set by `ganlab train`)
        self.console_prefix = ""  # a sweep job's "#N ": its console lines carry it, and no bar is drawn
        self.lock = None
        self.t0 = time.time()
        self.log_every = cfg.trainer.log_every

    def dataset(self, split: str):
        """The dataset of a split: "train" (the training set) or "test" (data.test_dataset; None
        when the data has none), built once. Evaluators read their data through this."""
        if split not in self._datasets:
            self._datasets[split] = build_dataset(self.cfg, split)
        return self._datasets[split]

    @property
    def epoch(self) -> int:
        return self.pos.epoch

    @property
    def wall_time(self) -> float:
        return self.elapsed_before + time.time() - self.t0

    @property
    def ckpt_dir(self) -> Path:
        return self.dir / "checkpoints"

    # -- callbacks ------------------------------------------------------------------------
    def emit(self, hook: str, *args) -> None:
        for cb in self.callbacks.values():
            getattr(cb, hook)(self, *args)

    def event(self, kind: str, message: str, **extra) -> None:
        """A flagged event: console, train.log, TensorBoard text and summary.json `events`."""
        ev = {"step": self.step, "epoch": self.epoch, "kind": kind, "message": message, **extra}
        self.events.append(ev)
        log.warning("[step %d] %s: %s", self.step, kind, message)
        if self.logger is not None:
            self.logger.text(f"events/{kind}", f"step {self.step}: {message}", self.step)

    def step_end(self, stats: dict) -> None:
        """Logging callbacks, evaluation when due, then the checkpoints asked for this step."""
        if self.ranks.active:  # BatchNorm statistics: rank 0's everywhere, as DDP broadcasts them
            distributed.broadcast_buffers(self.algorithm.modules().values())
        # keep the newest value of each stat (no device sync); with n_critic > 1 the G stats of
        # the last G step are logged alongside the current D stats
        if "train/d_real" in stats:  # a D step ran: sources D did not see this step are not stale-logged
            for k in [k for k in self.pending_stats if k.startswith("train/d_on_")]:
                del self.pending_stats[k]
        self.fresh = set(stats)
        self.pending_stats.update(stats)
        logged = {}
        if self.step % self.log_every == 0 or self.step == self.total_steps:
            logged = {k: float(v) for k, v in self.pending_stats.items()}
            self.metrics.update(logged)
        if logged and self.ranks.is_main:
            self.beat()
        self.emit("on_step_end", logged)
        every = self.cfg.trainer.eval_every
        if self.evaluators and ((every and self.step % every == 0) or self.step == self.total_steps):
            self.evaluate()
        self.write_requested_checkpoints()

    def isolated_rng(self):
        """Evaluation, sample grids and checks run inside this: whatever random numbers they draw
        (a network built lazily, KID subsets) never shift training's RNG stream, so a resumed
        run stays bitwise identical whenever its evaluators were (re)built."""
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        return torch.random.fork_rng(devices=devices)

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """All evaluators, then on_eval_end. A stop request abandons an evaluation in progress
        (a full FID can outlast a cluster's grace period): nothing of it is recorded, the
        checkpoint says so, and the resumed run redoes it first."""
        metrics, protocols, timings = {}, {}, {}
        t0 = time.perf_counter()
        try:
            with self.isolated_rng():
                for name, ev in self.evaluators.items():
                    signals.check()
                    values = ev(self)
                    clocked = set(getattr(ev, "clocked", ()))  # e.g. samples/s: not the same twice
                    metrics.update({k: v for k, v in values.items() if k not in clocked})
                    timings.update({k: v for k, v in values.items() if k in clocked})
                    if getattr(ev, "protocol", None):
                        protocols[name] = ev.protocol
        except signals.Interrupted:
            self.pending_eval = True
            log.warning("evaluation at step %d abandoned (%s): it runs again when the run resumes",
                        self.step, signals.requested())
            return {}
        self.pending_eval = False
        self.protocols.update(protocols)
        self.metrics.update(metrics)
        self.timings.update(timings)
        # the run's seconds in evaluators, all evaluations together (summary.json `timings`; not plotted)
        if self.evaluators:
            self.timings["eval_time_s"] = round(self.timings.get("eval_time_s", 0.0) + time.perf_counter() - t0, 3)
        self.emit("on_eval_end", metrics | timings)  # TensorBoard and the loggers plot both
        return metrics

    # -- checkpoints ----------------------------------------------------------------------
    def request_checkpoint(self, name: str) -> None:
        """Ask for checkpoints/<name> to be written at the end of this step (after everything)."""
        if name not in self.save_requests:
            self.save_requests.append(name)

    def agree_stop(self, reason: str | None) -> str | None:
        """Over several processes, all stop at the same step when any of them is asked to."""
        if self.ranks.active and distributed.any_rank(reason is not None)[0] and reason is None:
            return "a stop request to another process"
        return reason

    def write_requested_checkpoints(self) -> None:
        """Rank 0 writes; over several processes every rank calls this at the same points (it
        gathers their states), and rank 0's requests decide."""
        wanted = bool(self.save_requests)
        if self.ranks.active:
            wanted = distributed.any_rank(wanted)[0]
        if not wanted:
            return
        state = self.state_dict()
        if not self.ranks.is_main:
            return
        # last.pt last: a resume starts from it, so a kill before it is written redoes the step
        # and rewrites best.pt (written first, a kill in between would lose best.pt)
        names = sorted(self.save_requests, key=lambda n: n == "last.pt")
        self.save_requests = []
        paths = [self.ckpt_dir / n for n in names]
        ckpt_io.write(state, paths, previous=self.ckpt_dir / "previous.pt" if names[-1] == "last.pt" else None)

    def state_dict(self) -> dict | None:
        """The whole training state (on rank 0 of several processes, with each other rank's RNG
        and algorithm state under "ranks"; None on those ranks)."""
        mine = {"rng": ckpt_io.rng_state(), "step_state": self.algorithm.state_dict()}
        gathered = distributed.gather_to_main(mine) if self.ranks.active else [mine]
        if not self.ranks.is_main:
            return None
        return {
            "config": OmegaConf.to_container(self.cfg, resolve=True),
            "step": self.step,
            "position": {"epoch": self.pos.epoch, "batch": self.pos.batch},
            "wall_time_s": self.wall_time,
            "modules": {k: m.state_dict() for k, m in self.algorithm.modules().items()},
            "step_state": mine["step_state"],
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scalers": {k: s.state_dict() for k, s in self.phase_runner.scalers.items()},
            "callbacks": {k: cb.state_dict() for k, cb in self.callbacks.items()},
            "metrics": dict(self.metrics),
            "timings": dict(self.timings),
            "pending_stats": {k: float(v) for k, v in self.pending_stats.items()},
            "protocols": self.protocols,
            "pending_eval": self.pending_eval,
            "events": list(self.events),
            "rng": mine["rng"],
            "world_size": self.ranks.world_size,
            "ranks": gathered[1:],
        }

    def load_state_dict(self, state: dict) -> None:
        self.step = state["step"]
        self.pos = Position(**state["position"])
        self.elapsed_before = state["wall_time_s"]
        for k, m in self.algorithm.modules().items():
            m.load_state_dict(state["modules"][k])
        mine = state if self.ranks.rank == 0 else state["ranks"][self.ranks.rank - 1]
        self.algorithm.load_state_dict(mine["step_state"])
        for group, objects in (("optimizers", self.optimizers), ("schedulers", self.schedulers),
                               ("scalers", self.phase_runner.scalers)):
            for k, obj in objects.items():
                obj.load_state_dict(state[group][k])
        for k, cb in self.callbacks.items():
            if k in state["callbacks"]:
                cb.load_state_dict(state["callbacks"][k])
        # in today's form (an earlier version's: training/resume.upgrade_checkpoint, called first)
        self.metrics = dict(state["metrics"])
        self.pending_stats = dict(state["pending_stats"])
        self.timings = dict(state["timings"])
        self.protocols = dict(state["protocols"])
        self.pending_eval = bool(state["pending_eval"])
        self.events = list(state["events"])
        ckpt_io.set_rng_state(mine["rng"])

    def beat(self) -> None:
        """heartbeat.json: where a running run is (`ganlab runs` tells running from stalled)."""
        atomic_write_json(self.dir / "heartbeat.json", {
            "step": self.step, "total_steps": self.total_steps, "wall_time_s": round(self.wall_time, 1),
            "time": time.time(), "pid": os.getpid(), "host": socket.gethostname()})

    # -- the machine-readable result ------------------------------------------------------
    def write_summary(self, status: str, *, error: str | None = None) -> dict:
        best = None
        for cb in self.callbacks.values():
            if hasattr(cb, "best_summary"):
                best = cb.best_summary()
        summary = {
            "status": status,
            "step": self.step,
            "epoch": self.epoch,
            "total_steps": self.total_steps,
            # everything read off a clock, apart: two runs of the same config differ here only
            "timings": {"wall_time_s": round(self.wall_time, 3),
                        **{k: v for k, v in sorted(self.timings.items()) if math.isfinite(v)}},
            "metrics": {k: v for k, v in sorted(self.metrics.items()) if math.isfinite(v)},
            "best": best,
            "events": self.events,
            "protocols": self.protocols,
            "config_groups": self.config_groups,
            "world_size": self.ranks.world_size,
            "run_dir": str(self.dir),
        }
        for cb in self.callbacks.values():  # callbacks may add sections (e.g. "phases")
            if hasattr(cb, "summary"):
                summary.update(cb.summary())
        if error:
            summary["error"] = error
        if self.ranks.is_main:
            atomic_write_json(self.dir / "summary.json", summary)
        return summary

