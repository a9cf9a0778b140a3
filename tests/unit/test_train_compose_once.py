"""`ganlab train` skips Hydra's first compose (the one that only reads `hydra.mode`) exactly when
nothing on the command line can set the mode, and ganlab's own configs never set it."""

import sys
from pathlib import Path

import pytest
import yaml
from hydra._internal.hydra import Hydra

from ganlab.commands.train import _one_compose, main
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


def test_hydra_main_composes_once_more_for_the_mode_and_that_is_the_compose_skipped(tmp_path, monkeypatch):
    """What _one_compose relies on: hydra.main's mode probe is a compose through Hydra.get_mode."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", sys.argv[:])
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    modes = []
    compose = Hydra.compose_config
    monkeypatch.setattr(Hydra, "compose_config", lambda self, *a, **k: modes.append(k["run_mode"].name)
                        or compose(self, *a, **k))
    for args, composed in ((["trainer.max_steps=-1"], ["RUN"]),
                           (["trainer.max_steps=-1", "hydra.job.chdir=false"], ["MULTIRUN", "RUN"])):
        modes.clear()
        with pytest.raises(SystemExit) as stop:  # bad input: refused after the compose, before the run dir
            main(args)
        assert stop.value.code == 2 and modes == composed, args
    assert not any(tmp_path.iterdir())
