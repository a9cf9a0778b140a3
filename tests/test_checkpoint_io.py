import os
import random

import numpy as np
import pytest
import torch

from ganlab.training import checkpoint as ck


def test_save_atomic_roundtrip_and_no_temp_left(tmp_path):
    p = tmp_path / "c" / "last.pt"
    ck.save_atomic({"w": torch.arange(4), "cfg": {"a": 1}}, p)
    assert torch.equal(ck.load(p)["w"], torch.arange(4))
    assert os.listdir(p.parent) == ["last.pt"]


def test_failed_save_keeps_previous_file(tmp_path):
    p = tmp_path / "last.pt"
    ck.save_atomic({"v": 1}, p)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        ck.save_atomic({"v": Unpicklable()}, p)
    assert ck.load(p) == {"v": 1}
    assert os.listdir(tmp_path) == ["last.pt"]


class _Custom:
    pass


def test_load_refuses_unsafe_pickles(tmp_path):
    p = tmp_path / "evil.pt"
    torch.save({"obj": _Custom()}, p)
    with pytest.raises(ck.CheckpointError, match="weights_only"):
        ck.load(p)


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(ck.CheckpointError, match="nope.pt"):
        ck.load(tmp_path / "nope.pt")


def test_rng_state_roundtrip_through_weights_only_file(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    ck.save_atomic({"rng": ck.rng_state()}, tmp_path / "r.pt")
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    ck.set_rng_state(ck.load(tmp_path / "r.pt")["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a
