"""Types and ranges of the composed config, checked before a run directory exists: a bad value
is one ConfigError line naming the key and what is allowed, instead of a traceback deep inside
training (a ZeroDivisionError for data.batch_size=0, a TypeError for schedule.lr_d=abc).

Checks needing the data (e.g. the dataset holds at least one batch) are not made here."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganlab.errors import ConfigError

_ABSENT = object()  # select()'s default: tells an absent key (skipped) from an explicit null


class Rule(NamedTuple):
    ok: Callable[[Any], bool]
    allowed: str                 # completes "must be ..."
    nullable: bool = False       # null is a valid value (e.g. "not used")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # True/False are ints to Python, not to us


def _is_num(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def integer(lo: int, hi: int | None = None) -> Rule:
    if hi is None:
        return Rule(lambda v: _is_int(v) and v >= lo, f"an integer >= {lo}")
    return Rule(lambda v: _is_int(v) and lo <= v <= hi, f"an integer in [{lo}, {hi}]")


def number(lo: float, hi: float | None = None) -> Rule:
    if hi is None:
        return Rule(lambda v: _is_num(v) and v >= lo, f"a number >= {lo}")
    return Rule(lambda v: _is_num(v) and lo <= v <= hi, f"a number in [{lo}, {hi}]")


def one_of(*choices: Any) -> Rule:
    # type-exact: 32.0 or True must not pass for 32 or 1
    return Rule(lambda v: any(type(v) is type(c) and v == c for c in choices),
                "one of " + ", ".join(map(repr, choices)))


BOOL = Rule(lambda v: isinstance(v, bool), "true or false")
BETAS = Rule(lambda v: isinstance(v, list) and len(v) == 2 and all(_is_num(b) and 0 <= b < 1 for b in v),
             "a list of 2 numbers in [0, 1)")
DEVICE = Rule(lambda v: isinstance(v, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?", v) is not None,
              "'auto', 'cpu', 'cuda' or 'cuda:N'")
# a node since the policy is chosen by _target_; the old `lr_policy: linear_decay` lands here
LR_POLICY = Rule(lambda v: isinstance(v, dict) and "_target_" in v,
                 "a config node with a _target_, e.g. schedule=linear_decay or schedule.lr_policy="
                 "{_target_: ganlab.training.build.LinearDecay, decay_start: 0.5}")

# key -> rule; a key absent from the composed config is skipped (e.g. data.image_size of 2D data)
RULES: dict[str, Rule] = {
    "seed": integer(0),
    "data.batch_size": integer(1),
    # beyond 4096 px nothing here trains, and a synthetic dataset would fill memory before any model
    # check (a model's own size rule, e.g. dcgan's powers of two, is its constructor's: model.networks.*)
    "data.image_size": integer(1, 4096),
    "data.channels": one_of(1, 3),
    "data.num_workers": integer(0),
    "data.in_memory": one_of("auto", True, False),  # auto: image folders only (conf/data/folder.yaml)
    "data.in_memory_budget_mb": number(0),
    "data.dataset.size": integer(1),
    "data.dataset.skip_unreadable": BOOL,
    "data.test_dataset.skip_unreadable": BOOL,
    "schedule.lr_d": number(0),            # 0 freezes D
    "schedule.lr_g": number(0),            # 0 freezes G
    "schedule.lr": number(0),              # schedule=baseline: the one optimizer of flow / ddpm / vae
    "schedule.betas": BETAS,
    "schedule.n_critic": integer(1),
    "schedule.lr_policy": LR_POLICY,
    "schedule.lr_policy.decay_start": number(0, 1),
    "trainer.max_steps": integer(0),
    "trainer.max_epochs": integer(0),
    "trainer.log_every": integer(1),
    "trainer.accumulate": integer(1),
    "trainer.eval_every": integer(0),
    "trainer.stop_at_step": Rule(integer(1).ok, "null or an integer >= 1", nullable=True),
    "trainer.check_finite_every": integer(0),
    "trainer.precision": one_of(32, "32", "bf16", "fp16"),
    "trainer.device": DEVICE,
    "trainer.deterministic": BOOL,
    "trainer.channels_last": BOOL,
    "trainer.compile": BOOL,
    "trainer.compile_backend": one_of("inductor", "aot_eager", "eager", "cudagraphs"),
    "trainer.sync_batchnorm": BOOL,
    "model.width": integer(1),
    "model.z_dim": integer(1),
    "model.hidden": integer(1),
    "model.depth": integer(1),
    "callbacks.checkpoint.every_n_steps": integer(0),
    "callbacks.checkpoint.save_top_k": integer(1),
    "callbacks.checkpoint.mode": one_of("max", "min"),
}


def _select(cfg: DictConfig, key: str) -> Any:
    try:
        value = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False)
    except OmegaConfBaseException as e:  # e.g. ${data.nope}: OmegaConf's first line says why
        raise ConfigError(f"{key}: cannot be resolved: {str(e).splitlines()[0]}") from None
    if isinstance(value, (DictConfig, ListConfig)):
        try:
            value = OmegaConf.to_container(value, resolve=True)
        except OmegaConfBaseException as e:
            raise ConfigError(f"{key}: cannot be resolved: {str(e).splitlines()[0]}") from None
    return value


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError for the first bad value: '<key>=<value>: must be <allowed>'."""
    for key, rule in RULES.items():
        value = _select(cfg, key)
        if value is _ABSENT or (value is None and rule.nullable):
            continue
        if not rule.ok(value):
            raise ConfigError(f"{key}={value!r}: must be {rule.allowed}")
    # both 0 would train forever (or not at all): one of them must bound the run
    steps, epochs = (_select(cfg, f"trainer.{k}") for k in ("max_steps", "max_epochs"))
    if (steps is not _ABSENT or epochs is not _ABSENT) and not any(
            _is_int(v) and v > 0 for v in (steps, epochs)):
        raise ConfigError(f"trainer.max_steps={steps if steps is not _ABSENT else None!r}, "
                          f"trainer.max_epochs={epochs if epochs is not _ABSENT else None!r}: "
                          "set trainer.max_steps or trainer.max_epochs to a positive number")
    accumulate, batch = _select(cfg, "trainer.accumulate"), _select(cfg, "data.batch_size")
    if _is_int(accumulate) and _is_int(batch) and batch % accumulate:
        raise ConfigError(f"trainer.accumulate={accumulate}: must divide data.batch_size={batch} "
                          "(each phase runs the batch in that many equal micro-batches)")
