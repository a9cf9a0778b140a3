"""Quality of the shipped defaults (minutes each): `make test-slow`."""

import pytest

from conftest import summary

pytestmark = pytest.mark.slow


def test_mlp_ring8_defaults_capture_modes(ganlab, tmp_path):
    ganlab("train", "model=mlp", "data=ring8", "trainer.device=cpu", "hydra.run.dir=run")
    m = summary(tmp_path / "run")["metrics"]
    assert m["val/modes"] >= 6 and m["val/hq"] >= 0.5, m


def test_mlp_grid25_defaults_capture_modes(ganlab, tmp_path):
    ganlab("train", "model=mlp", "data=grid25", "trainer.device=cpu", "hydra.run.dir=run")
    m = summary(tmp_path / "run")["metrics"]
    assert m["val/modes"] >= 15 and m["val/hq"] >= 0.3, m


def test_agan_toyzebra_defaults_find_the_object(ganlab, tmp_path):
    ganlab("train", "model=agan", "data=toyzebra", "trainer.device=cpu", "hydra.run.dir=run")
    s = summary(tmp_path / "run")
    m = s["metrics"]
    assert m["val/mask_iou"] >= 0.9 and m["val/bg_l1"] <= 0.02 and "val/stripe" in m, m
    assert s["timings"]["wall_time_s"] < 6 * 60
