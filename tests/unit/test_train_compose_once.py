"""`ganlab train` skips Hydra's first compose (the one that only reads `hydra.mode`) exactly when
nothing on the command line can set the mode, and ganlab's own configs never set it."""

from pathlib import Path

import yaml
from hydra._internal.hydra import Hydra

from ganlab.commands.train import _one_compose
from ganlab.config import CONF_DIR


def test_no_packaged_config_sets_hydra_mode():
    files = sorted(Path(CONF_DIR).rglob("*.yaml"))
    assert len(files) > 20
    for f in files:
        text = f.read_text()
        node = yaml.safe_load(text) or {}
        if "@package hydra" in text:
            node = {"hydra": node}
        assert "mode" not in (node.get("hydra") or {}), f


def test_the_mode_probe_is_skipped_only_without_hydra_flags_or_overrides():
    probe = Hydra.get_mode
    with _one_compose(["trainer.max_steps=2", "+experiment=x"]):
        assert Hydra.get_mode is not probe and Hydra.get_mode(None, "config", []) is None
    assert Hydra.get_mode is probe
    for args in (["-m", "seed=1,2"], ["--config-dir", "mine"], ["hydra.mode=MULTIRUN"],
                 ["hydra/sweeper=basic"], ["+hydra.searchpath=[file://x]"]):
        with _one_compose(args):
            assert Hydra.get_mode is probe, args
