"""Resuming a run, and rebuilding one from a checkpoint. A resume continues the SAME run: its
networks, data, losses and seed stay as they were. Overrides that only steer the rest of the run
take effect (lengths, intervals, learning rates, callbacks, loggers, extra evaluators, device); any
other change is refused with a message naming the key, so the recorded config is always what ran.
`sample`, `translate` and `eval` rebuild the trained algorithm from a checkpoint alone (it carries
its config). Checkpoints written by earlier versions are brought to today's form in one place:
upgrade_checkpoint."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from omegaconf import OmegaConf

from ganlab.config.trusted import check_targets
from ganlab.errors import ConfigError, UsageError, command_line
from ganlab.metrics.features import feature_node
from ganlab.training import checkpoint as ckpt_io
from ganlab.training.build import build_algorithm

# keys (or key prefixes ending in ".") that an override on resume may change
MAY_CHANGE = ("trainer.max_steps", "trainer.max_epochs", "trainer.stop_at_step", "trainer.log_every",
              "trainer.eval_every", "trainer.device", "trainer.check_finite_every", "data.num_workers",
              "trainer.compile", "trainer.compile_backend",  # how the same math runs, not what it is
              "schedule.lr_d", "schedule.lr_g", "schedule.lr",  # schedule.lr: the baselines' (schedule=baseline)
              "callbacks.", "logger.", "metrics.", "data.evaluators.", "resume",
              # where decoded images are kept (the same pixels either way); absent from earlier runs
              *(f"data.{node}in_memory{k}" for node in ("", "dataset.", "test_dataset.") for k in ("", "_budget_mb")))


# config nodes added after runs were written, and what they hold when they leave such a run as it
# was: a run saved without them resumes when they are off (augment=none, loss.lecam.weight=0)
ADDED_OFF = {
    ("augment.", "model.algorithm.augment."): lambda new: (new.get("augment") or {}).get("_target_", "").endswith(
        ".NoAugment"),
    ("loss.lecam.", "model.algorithm.lecam."): lambda new: ((new.get("loss") or {}).get("lecam") or {}).get(
        "weight", 0) == 0,
}


def flatten(tree, prefix: str = "") -> dict[str, object]:
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            out |= flatten(v, f"{prefix}{k}.")
        return out or {prefix[:-1]: {}}
    return {prefix[:-1]: tree}


def _may_change(key: str) -> bool:
    if re.fullmatch(r"schedule\.optimizer\.[^.]+\.lr", key):  # any phase's optimizer lr
        return True
    return any(key == m or (m.endswith(".") and key.startswith(m)) for m in MAY_CHANGE)


def changed_keys(saved: dict, new: dict) -> list[str]:
    """Keys whose value differs between the checkpoint's config and the new one. Raises
    ConfigError for the first change a resume cannot honour."""
    policy = (saved.get("schedule") or {}).get("lr_policy")
    if isinstance(policy, str):  # written before the policy became a node chosen by _target_
        raise ConfigError(f"schedule.lr_policy={policy!r} in the run being resumed: the policy is now a node, e.g. "
                          f"{{_target_: ganlab.training.build.LinearDecay, decay_start: 0.5}}, and a run written "
                          f"before that change cannot be resumed; start a new run (or resume with the ganlab that wrote it)")
    a, b = flatten(saved), flatten(new)
    changed = sorted(k for k in a.keys() | b.keys() if a.get(k, "<absent>") != b.get(k, "<absent>"))
    for prefixes, off in ADDED_OFF.items():  # a run written before these nodes existed, resumed with them off
        if off(new) and not any(k.startswith(prefixes) for k in a):
            changed = [k for k in changed if not k.startswith(prefixes)]
    refused = sorted((k for k in changed if not _may_change(k)), key=lambda k: (k.count("."), k))
    if refused:
        k = refused[0]  # the shallowest key: usually the one overridden (model.width, not what it feeds)
        also = f" (also changed: {', '.join(refused[1:4])}{', ...' if len(refused) > 4 else ''})" if refused[1:] else ""
        raise ConfigError(f"{k}: was {a.get(k, '<absent>')!r} in the run being resumed, now {b.get(k, '<absent>')!r}{also}; "
                          f"a resumed run keeps its model, data, loss and seed (overrides that take effect on "
                          f"resume: {', '.join(m.rstrip('.') + ('.*' if m.endswith('.') else '') for m in MAY_CHANGE)}, "
                          f"schedule.optimizer.*.lr); "
                          f"drop the override or start a new run")
    return changed


def apply_learning_rates(optimizers: dict, schedulers: dict, cfg) -> None:
    """A new lr given on resume takes effect: the restored optimizer and scheduler state carry the
    old one, so the base lr is replaced and the current lr recomputed from the schedule."""
    for name, opt in optimizers.items():
        lr = float(cfg.schedule.optimizer[name].lr)
        sched = schedulers[name]
        sched.base_lrs = [lr for _ in opt.param_groups]
        for group, fn in zip(opt.param_groups, sched.lr_lambdas):
            group["initial_lr"] = lr
            group["lr"] = lr * fn(sched.last_epoch)


def lower_lr_command(run_dir, cfg, changes: dict) -> str | None:
    """What to try after non-finite values: `ganlab resume <run dir> schedule.lr_d=... ...` with
    the learning-rate keys the run's schedule has, each back at its value before this resume
    changed it (`changes`: key -> [old, new]), else a tenth of it."""
    schedule = cfg.get("schedule") or {}
    lrs = []
    for k in ("lr_d", "lr_g", "lr"):
        lr = schedule.get(k)
        if isinstance(lr, int | float) and not isinstance(lr, bool):
            old = changes.get(f"schedule.{k}", [None])[0]
            lrs.append(f"schedule.{k}={old if isinstance(old, int | float) else float(lr) * 0.1:.3g}")
    return command_line("ganlab", "resume", Path(run_dir).absolute(), *lrs) if lrs else None


# -- rebuilding from a checkpoint ------------------------------------------------------------
def load_algorithm(ckpt_path: str | Path, device: torch.device):
    """The algorithm of a checkpoint, weights loaded, in eval mode; and its config. The
    checkpoint is untrusted input: loaded without unpickling code, refused if it holds NaN/Inf,
    and its config may only build allow-listed classes (config/trusted.py)."""
    state = ckpt_io.load_for_inference(ckpt_path, map_location=device)
    if not isinstance(state.get("config"), dict) or "modules" not in state:
        raise UsageError(f"{ckpt_path} is not a ganlab checkpoint (no config / modules in it)")
    config = upgrade_config(state["config"])
    check_targets(config, source=str(ckpt_path))
    cfg = OmegaConf.create(config)
    algo = build_algorithm(cfg)
    for name, m in algo.modules().items():
        m.load_state_dict(state["modules"][name])
        m.to(device).eval()
    return algo, cfg, state


# -- checkpoints written by earlier versions of ganlab ---------------------------------------
OLD_FID = "ganlab.metrics.evaluators.FIDKID"  # before FIDKIDEvaluator, with `feature: <name>`
OLD_POLICIES = "ganlab.training.schedules."  # the lr policies' module before they joined build.py


def upgrade_checkpoint(state: dict, *, clocked=()) -> dict:
    """A training checkpoint written by an earlier ganlab, in today's form (in place, and
    returned), so that it resumes as it would have with the version that wrote it:
    - before 2026-11-23 (8b78e98): no `pending_eval` (no evaluation was ever left undone)
    - before 2026-12-01 (1388ed5): `last_metrics` / `latest`, today `metrics` / `pending_stats`
    - before 2026-12-05 (9de978a): no `timings`; the `clocked` metrics (an evaluator's clock-read
      values, e.g. samples/s) were among `metrics`
    - its config: upgrade_config."""
    state.setdefault("metrics", state.pop("last_metrics", {}))
    state.setdefault("pending_stats", state.pop("latest", {}))
    metrics, timings = state["metrics"], state.setdefault("timings", {})
    for k in [k for k in clocked if k in metrics]:
        timings[k] = metrics.pop(k)
    state.setdefault("pending_eval", False)
    state.setdefault("protocols", {})
    state["config"] = upgrade_config(state["config"])
    return state


def upgrade_config(node):
    """A checkpoint's stored config in today's form: the checkpoint stays loadable and resumable.
    - before 2026-12-01 (1388ed5): OLD_FID evaluators, with `feature: <name>` (and `weights_path`)
    - before 2026-12-05 (943c867): the lr policies under OLD_POLICIES (training/schedules.py)."""
    if isinstance(node, list):
        return [upgrade_config(v) for v in node]
    if not isinstance(node, dict):
        return node
    if node.get("_target_") == OLD_FID and isinstance(node.get("feature", "inception"), str):
        node = {k: v for k, v in node.items() if k != "weights_path"} | {
            "_target_": "ganlab.metrics.evaluators.FIDKIDEvaluator",
            "feature": feature_node(node.get("feature", "inception"), node.get("weights_path"))}
    target = node.get("_target_")
    if isinstance(target, str) and target.startswith(OLD_POLICIES):
        node = node | {"_target_": "ganlab.training.build." + target.removeprefix(OLD_POLICIES)}
    return {k: upgrade_config(v) for k, v in node.items()}
