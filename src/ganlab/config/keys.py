"""Config keys a user mistyped: a close existing key to suggest, and `+key` overrides that add a
key nothing reads (Hydra accepts `+trainer.max_step=10` and the run silently ignores it)."""

from __future__ import annotations

import difflib
import re

from omegaconf import DictConfig, OmegaConf

from ganlab.config import override_key
from ganlab.errors import ConfigError


def all_keys(cfg) -> list[str]:
    """Every dotted key of a config (nodes and leaves), shallowest first; not those that only
    repeat another key (`schedule.optimizer.D.lr: ${schedule.lr_d}`: the one to set is lr_d)."""
    keys = []

    def walk(prefix: str, node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if not (isinstance(v, str) and v.startswith("${")):
                    keys.append(f"{prefix}{k}")
                walk(f"{prefix}{k}.", v)

    walk("", OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else cfg)
    return sorted(keys, key=lambda k: k.count("."))


def close_key(key: str, keys: list[str]) -> str | None:
    """The existing key `key` most likely meant: by the whole dotted path, else by its last part
    (`lr` -> `schedule.lr_d`)."""
    keys = [k for k in keys if k != key and not k.startswith("hydra.")]
    found = difflib.get_close_matches(key, keys, n=1, cutoff=0.75)
    if found:
        return found[0]
    by_leaf: dict[str, str] = {}
    for k in keys:
        by_leaf.setdefault(k.rsplit(".", 1)[-1], k)
    found = difflib.get_close_matches(key.rsplit(".", 1)[-1], list(by_leaf), n=1, cutoff=0.6)
    return by_leaf[found[0]] if found else None


def no_such_key(key: str, keys: list[str], *, plus: bool = False) -> str:
    close = close_key(key, keys)
    what = f"+{key}: adds a key that nothing reads" if plus else f"{key}: no such key"
    return what + (f"; did you mean {close}?" if close else " (`ganlab train --cfg job` prints every key)")


def check_added_keys(cfg: DictConfig, overrides: list[str], groups) -> None:
    """ConfigError for the first `+key=value` that adds a key nothing reads. The rule: an added
    key is read when it is a config group (`+experiment=x`), under `hydra.` (launcher and sweeper
    settings go to their plugins), a keyword argument of a `_target_` node (its constructor refuses
    one it does not take), or itself a node with a `_target_` (a new callback, logger, evaluator,
    optimizer: those collections build every member). Anything else is only ever looked up by the
    keys the code knows, so an added one would be ignored. (`++key` may set an existing key: not
    checked.)"""
    for override in overrides:
        if not override.startswith("+") or override.startswith("++"):
            continue
        key = override_key(override)
        if "/" in key or key in groups or key.startswith("hydra."):
            continue
        parent = OmegaConf.select(cfg, key.rsplit(".", 1)[0], default=None) if "." in key else cfg
        value = OmegaConf.select(cfg, key, default=None)
        if (isinstance(parent, DictConfig) and "_target_" in parent and parent is not cfg) or \
                (isinstance(value, DictConfig) and "_target_" in value):
            continue
        raise ConfigError(no_such_key(key, [k for k in all_keys(cfg) if k != key], plus=True))


def unknown_key_advice(message: str, overrides: list[str]) -> str:
    """Hydra's "Could not override 'trainer.max_step'. To append to your config use +..." advises
    adding a key nothing would read: name the close key that exists instead."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from ganlab.config import compose_raw
    found = re.match(r"Could not override '([^']+)'\. To append to your config use \+", message)
    if not found:
        return message
    key = found.group(1)
    others = [a for a in overrides if "=" in a and not a.startswith("-") and override_key(a) != key
              and not override_key(a).startswith("hydra")]
    for kept in (others, []):  # the run's groups when they compose, else the defaults'
        try:
            return no_such_key(key, all_keys(compose_raw(kept)))
        except (HydraException, OmegaConfBaseException):
            continue
    return message
