"""`ganlab train`: Hydra composes the config; this file turns it into a run directory."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from ganlab.cli import CONF_DIR, UsageError

log = logging.getLogger("ganlab")
err = Console(stderr=True, soft_wrap=True)  # long paths stay on one line


def resume_paths(resume: str) -> tuple[Path, Path]:
    """(run dir, checkpoint) from a run dir or a checkpoint path."""
    p = Path(resume)
    if p.is_dir():
        ckpt = p / "checkpoints" / "last.pt"
        if not ckpt.is_file():
            raise UsageError(f"resume={resume}: no checkpoints/last.pt in that run dir, nothing to resume")
        return p, ckpt
    if p.is_file():
        return p.parent.parent, p
    raise UsageError(f"resume={resume}: no such run dir or checkpoint")


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def with_resume(args: list[str]) -> list[str]:
    """A resumed run re-composes its original overrides, then the new ones (e.g. a larger
    trainer.max_steps), and runs in its original directory."""
    resume = [a.split("=", 1)[1] for a in args if _key(a) == "resume"]
    if not resume:
        return args
    run_dir, _ = resume_paths(resume[-1])
    saved = run_dir / ".hydra" / "overrides.yaml"
    original = yaml.safe_load(saved.read_text()) if saved.is_file() else []
    new_keys = {_key(a) for a in args}
    kept = [o for o in original if _key(o) not in new_keys and _key(o) not in ("resume", "hydra.run.dir")]
    return kept + args + [f"hydra.run.dir={run_dir}"]


def short_name(text: str, limit: int = 120) -> str:
    """Run dir names from overrides, cut to a length file systems accept (a hash keeps them unique)."""
    if len(text) <= limit:
        return text
    import hashlib
    return f"{text[:limit - 9]}_{hashlib.sha1(text.encode()).hexdigest()[:8]}"


OmegaConf.register_new_resolver("short", short_name, replace=True)


def run_hydra(args: list[str]) -> None:
    sys.argv = ["ganlab train", *with_resume(args)]
    hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(train_task)()


def train_task(cfg: DictConfig) -> float | None:
    """One run. Kept undecorated at module level so launchers that ship it to worker processes
    (joblib, submitit) pickle it by reference."""
    from ganlab.training.loop import train

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    resume_from = resume_paths(cfg.resume)[1] if cfg.resume else None
    try:
        summary = train(cfg, run_dir, resume_from=resume_from)
    except Exception as e:
        _fail(e, run_dir, new_run=resume_from is None)
    print(f"run dir: {run_dir}")
    print("final: " + "  ".join(f"{k}={v:.4g}" for k, v in summary["metrics"].items()
                                if k.startswith("val/") or k in ("train/loss_d", "train/loss_g")))
    if summary["best"]:
        b = summary["best"]
        print(f"best {b['monitor']}={b['value']:.4g} at step {b['step']}: {run_dir}/checkpoints/best.pt")
    if summary["status"] == "failed":
        err.print(f"[red]run failed:[/] {summary.get('error')}")
        sys.exit(1)
    monitored = summary["best"]["value"] if summary["best"] else None
    return monitored  # sweepers (e.g. Optuna) read the return value


KNOWN = ("DataError", "MetricsError", "CheckpointError", "UsageError", "ValueError", "FileNotFoundError",
         "RuntimeError")


def _fail(e: Exception, run_dir: Path, *, new_run: bool) -> None:
    """Bad input: a clear message and a non-zero exit; a new run that never wrote a checkpoint
    leaves nothing behind."""
    chain, x = [], e  # the first error of a known kind in the chain carries the useful message
    while x is not None:
        chain.append(x)
        x = x.__cause__
    known = next((x for x in chain if type(x).__name__ in KNOWN), None)
    if new_run and not (run_dir / "checkpoints").exists():
        logging.shutdown()
        shutil.rmtree(run_dir, ignore_errors=True)
    if known is None:
        raise e
    err.print(f"[red]error:[/] {type(known).__name__}: {known}")
    sys.exit(2)
