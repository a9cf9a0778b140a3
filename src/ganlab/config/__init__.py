"""The config directory and composition: one place for both (commands and the core use it)."""

from __future__ import annotations

from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def compose(overrides: list[str]):
    """The composed config for `overrides`, as `ganlab train` would see it (without running). A
    bad override (unknown key or option, malformed) is a ConfigError of one line."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from ganlab.config.keys import unknown_key_advice
    from ganlab.errors import ConfigError
    try:
        return compose_raw(overrides)
    except (HydraException, OmegaConfBaseException) as e:
        raise ConfigError(unknown_key_advice(one_line(str(e)), overrides)) from None


def compose_raw(overrides: list[str]):
    """`compose` with Hydra's own exceptions."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()  # after a failed `hydra.main` in this process, which leaves it set
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides)


def one_line(text: str) -> str:
    """Hydra's messages on one line: its list of available options becomes comma-separated (its
    config search path, which says nothing to fix, is left out)."""
    text = text.split("\nConfig search path:")[0]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    out = lines[0].strip() if lines else ""
    for prev, ln in zip(lines, lines[1:]):
        sep = ", " if ln.startswith("\t") and prev.startswith("\t") else " "
        out += sep + ln.strip()
    return out


def override_key(override: str) -> str:
    """The config key of a Hydra override: `+trainer.x=1` -> `trainer.x`, `~logger` -> `logger`."""
    return override.split("=", 1)[0].lstrip("+~")
