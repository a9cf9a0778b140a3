"""The config directory and composition: one place for both (commands and the core use it)."""

from __future__ import annotations

from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def compose(overrides: list[str]):
    """The composed config for `overrides`, as `ganlab train` would see it (without running)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides)


def override_key(override: str) -> str:
    """The config key of a Hydra override: `+trainer.x=1` -> `trainer.x`, `~logger` -> `logger`."""
    return override.split("=", 1)[0].lstrip("+~")
