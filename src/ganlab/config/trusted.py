"""Configs read back from a checkpoint or a run directory may only build trusted classes: a
`_target_` in a file someone handed you must not run arbitrary code (`os.system`, `builtins.open`)."""

from __future__ import annotations

import inspect
import os
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from ganlab.errors import ConfigError

ALLOWED_PREFIXES = ("ganlab.", "torch.nn.", "torch.optim.")
ENV = "GANLAB_TRUSTED_TARGETS"


def allowed_prefixes() -> tuple[str, ...]:
    """ALLOWED_PREFIXES plus the comma-separated prefixes in $GANLAB_TRUSTED_TARGETS."""
    extra = (p.strip() for p in os.environ.get(ENV, "").split(","))
    return ALLOWED_PREFIXES + tuple(p for p in extra if p)


def check_targets(cfg: Any, *, source: str) -> None:
    """Raise ConfigError for the first `_target_` in `cfg` that is not a class under a trusted prefix."""
    if isinstance(cfg, DictConfig | ListConfig):
        # unresolved: a stored interpolation that no longer resolves must not hide a target
        cfg = OmegaConf.to_container(cfg, resolve=False)
    prefixes = allowed_prefixes()
    for key, target in _targets(cfg, ""):
        _check(target, key, source, prefixes)


def check_saved_override(override: str, *, source: str) -> None:
    """An override read back from a run directory may set the run's own keys only: never Hydra's
    (`hydra.*`, `hydra/...` groups, `@hydra...` packages: its callbacks and logging build objects
    before ganlab sees the config), and a `_target_` only under the trusted prefixes."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_override(override)
        value = None if parsed.is_delete() else parsed.value()
    except (HydraException, ValueError) as e:
        raise ConfigError(f"{source}: cannot parse the override {override!r} ({str(e).splitlines()[0]}): "
                          f"repair the file or start a new run") from None
    if sets_hydra(parsed):
        raise ConfigError(f"refusing the override {override!r} from {source}: a run directory may not set "
                          f"Hydra's own keys (hydra.*); remove that line or start a new run")
    if parsed.is_delete():
        return
    key = parsed.key_or_group
    targets = [(key, value)] if key.endswith("_target_") else []  # `+a.b._target_=...`, `++..._target_=...`
    targets += [(f"{key}.{where}", t) for where, t in _targets(value, "")]  # `+a={_target_: ...}`
    for where, target in targets:
        _check(target, where, f"{source} ({override!r})", allowed_prefixes())


def check_hydra_untouched(overrides: list[str], *, source: str) -> None:
    """The same check through the config folders of a saved hydra.searchpath: a config there (e.g.
    `# @package _global_` with a `hydra:` node) may not change Hydra's settings either. Compares
    Hydra's node composed with `overrides` against ganlab's own, run-specific fields aside."""
    from hydra import compose, initialize_config_dir

    from ganlab.config import CONF_DIR

    def settings(overrides: list[str]) -> dict:
        node = OmegaConf.to_container(compose("config", overrides=overrides, return_hydra_config=True).hydra,
                                      resolve=False)
        for own in ("overrides", "runtime", "searchpath"):  # what any run's overrides change
            node.pop(own, None)
        node["job"].pop("override_dirname", None)
        return node

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        mine, plain = settings(overrides), settings([])
    changed = sorted(k for k in mine.keys() | plain.keys() if mine.get(k) != plain.get(k))
    if changed:
        raise ConfigError(f"refusing to resume from {source}: through its hydra.searchpath its configs change Hydra's "
                          f"own settings (hydra.{changed[0]}); remove that config or start a new run")


def sets_hydra(override) -> bool:
    """Whether an override (a string, or Hydra's parsed Override) reaches Hydra's own config: a
    `hydra.*` key, a `hydra/...` group, or a `@hydra...` package."""
    if isinstance(override, str):
        from hydra.core.override_parser.overrides_parser import OverridesParser
        override = OverridesParser.create().parse_override(override)
    names = [override.key_or_group, override.package or ""]
    return any(n == "hydra" or n.startswith(("hydra.", "hydra/")) for n in names)


def _targets(node: Any, path: str):
    if isinstance(node, dict):
        if "_target_" in node:
            yield path or "<root>", node["_target_"]
        items = node.items()
    elif isinstance(node, list | tuple):
        items = enumerate(node)
    else:
        return
    for k, v in items:
        yield from _targets(v, f"{path}.{k}" if path else str(k))


def _check(target: Any, key: str, source: str, prefixes: tuple[str, ...]) -> None:
    why = ""
    # the prefix is checked before anything is imported: importing a module can already run code
    if isinstance(target, str) and target.startswith(prefixes):
        try:
            from hydra.utils import get_object

            if inspect.isclass(get_object(target)):
                return
            why = " (it is not a class)"
        except Exception as e:  # any import-time failure means we cannot vouch for it
            why = f" (cannot import it: {str(e).splitlines()[0] if str(e) else type(e).__name__})"
    raise ConfigError(f"refusing to build {target} ({key}) from {source}{why}: stored configs may only "
                      f"build classes under {', '.join(prefixes)}; if you trust {source}, add the "
                      f"prefix to {ENV}")
