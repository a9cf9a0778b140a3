"""`ganlab train [overrides]`: Hydra composes the config; a single run is checked and built
BEFORE Hydra creates its directory (bad input leaves nothing behind); a job of a sweep that
fails is recorded in its own directory (summary.json status failed) and the sweep goes on.

Exit codes: 0 finished; 1 internal error (traceback) or a run that failed (non-finite values);
2 bad input (one line naming what to fix); 3 stopped at trainer.stop_at_step (resumable);
128 + N stopped by signal N (143 SIGTERM, 130 Ctrl-C; resumable). A sweep exits 1 if any job
failed, after a table of every job's status."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sys
import time
import traceback
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click
import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from ganlab import signals
from ganlab.commands.completion import complete_override
from ganlab.commands.console import err, fail
from ganlab.config import CONF_DIR, one_line, override_key
from ganlab.config.keys import check_added_keys, unknown_key_advice
from ganlab.config.trusted import check_hydra_untouched, sets_hydra
from ganlab.errors import GanlabError, UsageError, command_line
from ganlab.files import atomic_write_json
from ganlab.training.checks import check_before_build
from ganlab.training.ranks import from_env
from ganlab.training.run_dir import hydra_quote, resume_target, saved_overrides

# what imports torch (training.checkpoint, .distributed, .resume, .prepare) is imported where used:
# a config that Hydra or the checks refuse costs no `import torch` before its one line

log = logging.getLogger("ganlab")
STOPPED_AT_STEP = 3


class Handoff:
    """Hydra builds the callback (PrepareBeforeRunDir) and calls the task (train_task) itself, and
    neither receives the other: what one leaves for the other passes through this process-wide
    object. `run`: a single run's Run, built before its directory exists, taken once by the task
    (a sweep's jobs find none and build their own); `sweep`: the sweep's directory and start time,
    for the closing status table."""

    def __init__(self):
        self.run = None
        self.sweep: dict = {}

    def take_run(self):
        run, self.run = self.run, None
        return run


handoff = Handoff()


def short_name(text: str, sep: str = "", limit: int = 120) -> str:
    """Run dir names from overrides: one directory level (a `/` of `model/discriminator=unet`
    becomes `.`), cut to a length file systems accept (a hash keeps them unique); `sep` before
    it, and nothing at all without overrides (`08-01-38`, not `08-01-38_`)."""
    if not text:
        return ""
    text = text.replace("/", ".")
    if len(text) > limit:
        text = f"{text[:limit - 9]}_{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return sep + text


OmegaConf.register_new_resolver("short", short_name, replace=True)
_start = {"time": time.time()}  # under torchrun: rank 0's, so every rank names the same run dir
OmegaConf.register_new_resolver(
    "run_start", lambda fmt: datetime.fromtimestamp(_start["time"]).strftime(fmt), replace=True)


def with_resume(args: list[str]) -> list[str]:
    """A resumed run re-composes its original overrides, then the new ones (e.g. a larger
    trainer.max_steps), and runs in its original directory. `resume=` takes any existing path as
    typed (`=`, `,`, spaces: quoted here for Hydra's parser) or a value in Hydra's quotes."""
    at = [i for i, a in enumerate(args) if override_key(a) == "resume" and not a.startswith("~")]
    if not at:
        return args
    if {"-m", "--multirun"} & set(args):
        raise UsageError("resume= continues one run: it cannot be combined with -m")
    args = list(args)
    for i in at:
        args[i] = "resume=" + hydra_quote(resume_path(args[i]))
    run_dir, _ = resume_target(resume_path(args[at[-1]]))
    if "hydra.run.dir" in {override_key(a) for a in args}:
        raise UsageError(f"hydra.run.dir: a resumed run stays in its directory ({run_dir}); drop hydra.run.dir, "
                         f"or copy the run directory elsewhere and resume the copy")
    for a in args:  # Hydra's settings are not part of the run's config: a change would go unrecorded
        if not a.startswith("-") and ("=" in a or a.startswith("~")) and sets_hydra(a):
            raise UsageError(f"{a}: a resumed run keeps the Hydra settings it started with; drop it (overrides "
                             f"that take effect on resume: trainer.max_steps, schedule.lr_g, callbacks.*, ...)")
    new_keys = {override_key(a) for a in args}
    saved, searchpath = saved_overrides(run_dir), saved_overrides(run_dir, "hydra.yaml")
    if searchpath:  # the user's own config folders (saved in hydra.yaml): they may not reach Hydra's keys either
        check_hydra_untouched(saved + searchpath, source=str(run_dir / ".hydra"))
    kept = [o for o in saved + searchpath if override_key(o) not in new_keys and override_key(o) != "resume"]
    return kept + args + ["hydra.run.dir=" + hydra_quote(str(run_dir))]


def resume_path(override: str) -> str:
    """The path of a `resume=...` override: as typed when that path exists, else Hydra's reading of it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    raw = override.split("=", 1)[1]
    if Path(raw).exists():
        return raw
    try:
        value = OverridesParser.create().parse_override(override).value()
    except (HydraException, ValueError):
        return raw  # resume_target names it: no such run directory or checkpoint
    return value if isinstance(value, str) else raw


@click.command("train", add_help_option=False,  # --help is Hydra's: the config groups and the config
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED, shell_complete=complete_override)
def command(overrides: tuple[str, ...]) -> None:
    """Train a run from Hydra overrides."""
    if {"-sc", "--shell-completion"} & set(overrides):  # Hydra's would call `ganlab -sc`, not a command
        raise UsageError('Hydra\'s -sc does not know ganlab\'s commands: use eval "$(ganlab completion bash)" '
                         "(it completes the commands and train's overrides)")
    main(list(overrides))


def main(args: list[str]) -> None:
    os.environ["HYDRA_FULL_ERROR"] = "1"  # errors come back here: one line for bad input, else a traceback
    try:
        args = with_resume(args) + _one_run_over_ranks(args)
        sys.argv = ["ganlab train", *args]
        with _one_compose(args):
            hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(train_task)()
        if from_env().active:
            from ganlab.training import distributed
            distributed.finish()
    except GanlabError as e:
        fail(e, e.exit_code)
    except (HydraException, OmegaConfBaseException) as e:  # an unknown option, a malformed override
        fail(unknown_key_advice(one_line(str(e)), args), 2)
    except ValueError as e:  # Hydra's check of its own flags (-m with --cfg)
        if not str(e).startswith("Only one of --run"):
            raise
        fail(str(e), 2)
    finally:
        if from_env().active:
            from ganlab.training import distributed
            distributed.shutdown()
    if handoff.sweep:
        _report_sweep()


@contextmanager
def _one_compose(args: list[str]):
    """Hydra composes the whole config twice per command: first only to read `hydra.mode`
    (Hydra.get_mode: None unless a config sets it), then to run. With no Hydra flag (-m, -cd...)
    and no hydra override, nothing can set it (ganlab's own configs never do: tests/unit/
    test_train_compose_once.py), so its answer is None and that first compose is skipped.
    Hydra's private class, as no public API serves: hydra.main always probes the mode, and
    compose()/initialize_config_dir only compose (no run dir, callbacks, sweeps); the test pins it."""
    from hydra._internal.hydra import Hydra

    if any(a.startswith("-") or override_key(a).startswith("hydra") for a in args):
        yield
        return
    probe = Hydra.get_mode
    Hydra.get_mode = lambda self, config_name, overrides: None
    try:
        yield
    finally:
        Hydra.get_mode = probe


def _one_run_over_ranks(args: list[str]) -> list[str]:
    """Under torchrun: join the process group, take rank 0's start time (the run dir's name), and
    keep the other ranks from writing Hydra's files and logs into the shared run directory."""
    if not from_env().active:
        return []
    from ganlab.training import distributed

    ranks = distributed.init()
    if {"-m", "--multirun"} & set(args):
        raise UsageError("torchrun runs ONE run over several processes: start sweeps (-m) without torchrun")
    _start["time"] = distributed.broadcast_from_main(_start["time"])
    return [] if ranks.is_main else ["hydra.output_subdir=null", "hydra/job_logging=disabled",
                                     "hydra/hydra_logging=disabled"]


class PrepareBeforeRunDir(Callback):
    """Hydra callback (conf/config.yaml `hydra.callbacks`): a single run is validated, built and
    (on resume) loaded before Hydra creates or touches its directory; a sweep's start is noted."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        run_dir = Path(config.hydra.run.dir)
        task_cfg = OmegaConf.masked_copy(config, [k for k in config if k != "hydra"])
        # Hydra turns a callback's exception into a warning and goes on to create the run
        # directory: report here and leave (SystemExit passes through its handler)
        try:
            check_added_keys(task_cfg, list(config.hydra.overrides.task), config.hydra.runtime.choices)
            check_before_build(task_cfg, run_dir)  # bad input: refused before prepare_run imports torch
            from ganlab.training.prepare import prepare_run

            handoff.run = prepare_run(task_cfg, run_dir, checkpoint=_checkpoint_of(task_cfg))
        except GanlabError as e:
            fail(e, e.exit_code)
        except signals.Interrupted:
            err.print(f"stopped by {signals.requested()} before the run started: nothing was created")
            sys.exit(signals.exit_code())
        except Exception:
            traceback.print_exc()
            sys.exit(1)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        handoff.sweep.update(dir=Path(config.hydra.sweep.dir), start=time.time())


def _checkpoint_of(cfg: DictConfig) -> Path | None:
    return resume_target(cfg.resume)[1] if cfg.get("resume") else None


def train_task(cfg: DictConfig) -> float | None:
    """One run. Kept undecorated at module level so launchers that ship it to worker processes
    (joblib, submitit) pickle it by reference. Returns the monitored value (Optuna reads it)."""
    from ganlab.training.loop import train
    from ganlab.training.prepare import prepare_run

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    sweep_job = HydraConfig.get().mode.name == "MULTIRUN"
    prefix = _prefix_console_lines() if sweep_job else ""
    requeue = _under_submitit(cfg, run_dir)
    run = None
    try:
        run = handoff.take_run()
        if run is None:  # a sweep's job (a single run was prepared before its directory existed)
            check_added_keys(cfg, list(HydraConfig.get().overrides.task), HydraConfig.get().runtime.choices)
            run = prepare_run(cfg, run_dir, checkpoint=_checkpoint_of(cfg))
        run.config_groups = config_groups(dict(HydraConfig.get().runtime.choices), tricks=cfg.get("tricks"))
        run.console_prefix = prefix
        summary = train(run)
    except Exception as e:
        if run is None and from_env().is_main:  # failed before the run could write its record
            record_failure(run_dir, e)
        if sweep_job:  # the sweep goes on; its closing table lists this job
            log.error("job failed: %s", e if isinstance(e, GanlabError) else traceback.format_exc())
            return None
        if isinstance(e, GanlabError):
            fail(e, e.exit_code)
        raise
    if requeue and summary["status"] == "interrupted" and signals.requested() == "SIGUSR2":
        log.warning("preempted or at the time limit: checkpoint written, handing over to submitit to requeue")
        requeue(signal.SIGUSR2, None)  # requeues this job and exits; the new job resumes this run dir
    if run.ranks.is_main:
        _print_result(run_dir, summary, prefix=prefix)
        _print_next_steps(run_dir, summary, run, prefix=prefix)
    if not sweep_job:
        _exit_for(summary, run)
    return summary["best"]["value"] if summary["best"] else None


def _under_submitit(cfg: DictConfig, run_dir: Path):
    """In a submitit job (hydra/launcher=submitit_slurm|submitit_local): SIGUSR2 becomes a stop
    request (the step ends, last.pt is written) before submitit's own handler requeues the job,
    and a requeued job, finding its run dir with checkpoints, resumes it. Returns submitit's
    handler (None outside submitit)."""
    if not os.environ.get("SUBMITIT_EXECUTOR"):
        return None
    from ganlab.training import checkpoint as ckpt_io

    previous = signals.install((signal.SIGUSR2,))[signal.SIGUSR2]
    if ckpt_io.checkpoints_in(run_dir / "checkpoints") and not cfg.get("resume"):
        log.warning("requeued job: resuming %s", run_dir)
        with open_dict(cfg):
            cfg.resume = str(run_dir)
    return previous if callable(previous) else None


def config_groups(choices: dict, *, tricks=None) -> dict[str, str]:
    """The option chosen in each config group (model, loss, data, ..., experiment), and the tuned
    defaults file only when one exists for this model x data pair (it is applied silently by
    Hydra's optional default otherwise). `tricks`: the config's node, whose pieces a preset may
    have added to the chosen option's (then shown: `tricks=perfect_g`, `stabilize+lying`)."""
    first = ("experiment", "model", "model/discriminator", "loss", "data", "schedule", "tricks")
    groups = {k: str(choices[k]) for k in sorted(choices, key=lambda k: (k not in first, first.index(k) if k in first else 0))
              if choices[k] is not None and not k.startswith("hydra/")}
    if tricks is not None and "tricks" in groups:
        groups["tricks"] = tricks_applied(groups["tricks"], tricks)
    tuned = groups.pop("tuned", None)
    if tuned and (CONF_DIR / "tuned" / f"{tuned}.yaml").is_file():
        groups["tuned"] = f"conf/tuned/{tuned}.yaml"
        sets = OmegaConf.load(CONF_DIR / "tuned" / f"{tuned}.yaml")  # @package _global_: keys are absolute
        for group in [g for g in groups if "/" in g]:  # a nested group's node (model/denoiser: model.denoiser)
            if OmegaConf.select(sets, group.replace("/", "."), default=None) is not None:
                groups[group] += f" (replaced by {groups['tuned']})"
    return groups


def tricks_applied(choice: str, tricks) -> str:
    """What acts on what D sees: the option's name when its pieces are exactly those applied, else
    the option and the pieces added to it (or the pieces alone when some of its own were removed)."""
    pieces = [k for k, v in tricks.items() if v is not None]
    option = CONF_DIR / "tricks" / f"{choice}.yaml"
    own = list(OmegaConf.load(option).keys()) if option.is_file() else pieces
    if pieces == own:
        return choice
    if not set(own) <= set(pieces):
        return "+".join(pieces) or "none"
    return "+".join(([choice] if own else []) + [p for p in pieces if p not in own])


def record_failure(run_dir: Path, e: BaseException) -> None:
    """summary.json for a run that failed before it could write its own (sweep jobs: bad input)."""
    atomic_write_json(run_dir / "summary.json", {"status": "failed", "step": 0, "metrics": {}, "best": None,
                                                 "events": [], "error": f"{type(e).__name__}: {e}",
                                                 "run_dir": str(run_dir)})


def _print_result(run_dir: Path, summary: dict, *, prefix: str = "") -> None:
    print(f"{prefix}run dir: {run_dir}")
    from ganlab.callbacks.progress import losses  # the algorithm's own losses (flow, ddpm, vae too)
    keep = set(losses(summary["metrics"]))
    shown = {k: v for k, v in summary["metrics"].items() if k.startswith("val/") or k in keep}
    if shown:  # nothing logged yet (stopped before the first logged step): no empty line
        print(f"{prefix}final: " + "  ".join(f"{k}={v:.4g}" for k, v in shown.items()))
    if summary["best"]:
        b = summary["best"]
        print(f"{prefix}best {b['monitor']}={b['value']:.4g} at step {b['step']}: {run_dir / 'checkpoints' / 'best.pt'}")


def _print_next_steps(run_dir: Path, summary: dict, run, *, prefix: str) -> None:
    """What to run next, each line as it runs in a shell (paths quoted)."""
    ckpts = run_dir / "checkpoints"
    ckpt = next((c for c in (ckpts / "best.pt", ckpts / "last.pt") if c.is_file()), None)
    lines = [command_line("ganlab", "report", run_dir), command_line("tensorboard", "--logdir", run_dir)]
    if ckpt and hasattr(run.algorithm, "generate"):  # translation models: `ganlab translate`
        lines.append(command_line("ganlab", "sample", ckpt))
    if summary["status"] == "interrupted":
        lines.append(command_line("ganlab", "resume", run_dir))
    elif summary["status"] == "failed" and (ckpts / "last.pt").is_file():
        from ganlab.training.resume import lower_lr_command
        lines.append(lower_lr_command(run_dir, run.cfg, run.resume_changes) or "")
    print(f"{prefix}next:" + "".join(f"\n{prefix}  {line}" for line in lines if line))


class _Prefixed(logging.Formatter):
    def __init__(self, prefix: str, inner: logging.Formatter | None):
        super().__init__()
        self.prefix, self.inner = prefix, inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return self.prefix + self.inner.format(record)


def _prefix_console_lines() -> str:
    """A sweep job's console lines start with its number (`#3 `): joblib's parallel jobs share
    one terminal and interleave. train.log, the job's own, stays as it is. Hydra configures
    logging anew for each job, so the next job of a worker gets its own number."""
    prefix = f"#{HydraConfig.get().job.num} "
    for logger in (logging.getLogger(), log):
        for h in logger.handlers:
            if type(h) is logging.StreamHandler:  # the console, not train.log's FileHandler
                h.setFormatter(_Prefixed(prefix, h.formatter))
    return prefix


def _exit_for(summary: dict, run) -> None:
    if summary["status"] == "failed":
        from ganlab.training.resume import lower_lr_command
        retry = lower_lr_command(run.dir, run.cfg, run.resume_changes) if (run.ckpt_dir / "last.pt").is_file() else None
        hint = f"; resume from the last good checkpoint with a lower learning rate: `{retry}`" if retry else ""
        err.print(f"[red]run failed:[/] {summary.get('error')}{hint}", highlight=False)
        sys.exit(1)
    if summary["status"] == "interrupted":
        sys.exit(signals.exit_code() if signals.requested() else STOPPED_AT_STEP)


def _report_sweep() -> None:
    """Every job of the sweep that just ran, with its status; exit 1 if any failed."""
    jobs = []
    for s in sorted(handoff.sweep["dir"].rglob("summary.json")):
        if s.stat().st_mtime >= handoff.sweep["start"] - 1:
            try:
                jobs.append((s.parent, json.loads(s.read_text())))
            except ValueError:
                jobs.append((s.parent, {"status": "unreadable summary"}))
    failed = [j for j in jobs if j[1].get("status") != "ok"]
    print(f"sweep: {len(jobs)} jobs, {len(jobs) - len(failed)} ok, {len(failed)} not ok ({handoff.sweep['dir']})")
    for path, s in jobs:
        line = f"  {s.get('status', '?'):<12} {path.name}"
        print(line + (f"  {s['error']}" if s.get("error") else ""))
    if signals.requested():
        sys.exit(signals.exit_code())
    if failed:
        sys.exit(1)
