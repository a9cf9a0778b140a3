import errno
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlab import files
from ganlab.errors import CheckpointError, DiskFull, NonFiniteError
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
    with pytest.raises(CheckpointError, match="weights_only"):
        ck.load(p)


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pt"):
        ck.load(tmp_path / "nope.pt")


def test_rng_state_roundtrip_through_weights_only_file(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    ck.save_atomic({"rng": ck.rng_state()}, tmp_path / "r.pt")
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    ck.set_rng_state(ck.load(tmp_path / "r.pt")["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


# --- ganlab.files -------------------------------------------------------------------------------


@pytest.mark.parametrize("fail_in", ["write", "fsync"])
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_disk_full_keeps_old_file_and_names_path(tmp_path, monkeypatch, fail_in, code):
    p = tmp_path / "last.pt"
    files.atomic_write_bytes(p, b"old")

    def full(*a, **k):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, fail_in, full)
    with pytest.raises(DiskFull, match="no space left on device writing .*last.pt") as e:
        files.atomic_write_bytes(p, b"new" * 1000)
    assert e.value.exit_code == 1 and isinstance(e.value.__cause__, OSError)
    monkeypatch.undo()
    assert p.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["last.pt"]  # the temp file is gone


def test_other_os_errors_propagate_and_clean_up(tmp_path, monkeypatch):
    def denied(*a, **k):
        raise OSError(errno.EIO, "io error")

    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(OSError) as e:
        files.atomic_write_text(tmp_path / "a.txt", "x")
    assert not isinstance(e.value, DiskFull)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_text_and_json_helpers(tmp_path):
    files.atomic_write_json(tmp_path / "d" / "s.json", {"a": [1, 2]})
    assert (tmp_path / "d" / "s.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ]\n}\n'
    files.atomic_write_text(tmp_path / "t.txt", "héllo")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo"


def test_remove_stale_temps_removes_only_ganlab_temps_of_dead_writers(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # a pid whose process has ended
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        keep = ["notes.tmp", ".hidden", "last.pt", ".tmp", "a.b.tmp", ".report.final.tmp", ".last.pt.abc_123.tmp",
                f".ganlab-tmp.{alive.pid}.abcd_123.last.pt",  # its writer still runs
                f".ganlab-tmp.{dead}.short.last.pt", f".ganlab-tmp.x{dead}.abcd1234.last.pt", ".ganlab-tmp.0.abcd1234.a"]
        stale = [f".ganlab-tmp.{dead}.abcd_123.last.pt", f".ganlab-tmp.{os.getpid()}.zz99yy88.summary.json"]
        for name in keep + stale:
            (tmp_path / name).write_text("x")
        (tmp_path / f".ganlab-tmp.{dead}.abcdefgh.dir").mkdir()  # a folder, not something atomic_write_bytes made
        removed = files.remove_stale_temps(tmp_path)
    finally:
        alive.kill()
        alive.wait()
    assert sorted(p.name for p in removed) == sorted(stale)
    assert sorted(os.listdir(tmp_path)) == sorted(keep + [f".ganlab-tmp.{dead}.abcdefgh.dir"])
    assert files.remove_stale_temps(tmp_path / "missing") == []


def test_temp_files_carry_the_ganlab_prefix_and_the_writer_pid(tmp_path, monkeypatch):
    seen = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (seen.append(Path(a).name), real(a, b)))
    files.atomic_write_text(tmp_path / "summary.json", "{}")
    assert len(seen) == 1 and seen[0].startswith(f".ganlab-tmp.{os.getpid()}.") and seen[0].endswith(".summary.json")


def test_kill_during_checkpoint_write_keeps_old_file(tmp_path):
    """The test-only pause hook: kill -9 between fsync and rename leaves the old file whole."""
    p, marker = tmp_path / "last.pt", tmp_path / "paused"
    files.atomic_write_bytes(p, b"old")
    code = f"from ganlab.files import atomic_write_bytes; atomic_write_bytes({str(p)!r}, b'new')"
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "GANLAB_TEST_PAUSE_IN_WRITE": str(marker)})
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "writer never paused"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert p.read_bytes() == b"old"
    temps = files.remove_stale_temps(tmp_path)
    assert len(temps) == 1 and temps[0].name.startswith(f".ganlab-tmp.{proc.pid}.") and temps[0].name.endswith(".last.pt")
    assert sorted(os.listdir(tmp_path)) == ["last.pt", "paused"]


# --- checkpoint write / load ------------------------------------------------------------------------


def _state(step=1, bad=False):
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    sd = net.state_dict()
    if bad:
        sd["1.running_var"][0] = float("nan")
    return {"step": step, "modules": {"D": sd}, "optimizers": {"G": {"state": {0: {"exp_avg": torch.ones(2)}}}}}


def test_nonfinite_names_nested_tensors():
    s = _state(bad=True)
    s["optimizers"]["G"]["state"][0]["exp_avg"][1] = float("inf")
    s["extra"] = [torch.tensor([1 + 0j, complex("nan")]), torch.tensor([1, 2]), 3.0]
    assert ck.nonfinite(s) == ["modules.D.1.running_var", "optimizers.G.state.0.exp_avg", "extra.0"]
    assert ck.nonfinite(_state()) == []
    assert ck.nonfinite({"w": torch.tensor([float("nan")])}, prefix="m") == ["m.w"]


def test_write_refuses_nonfinite_state_and_writes_nothing(tmp_path):
    p = tmp_path / "last.pt"
    with pytest.raises(NonFiniteError, match=r"modules\.D\.1\.running_var.*no checkpoint was written"):
        ck.write(_state(bad=True), [p], previous=tmp_path / "previous.pt")
    assert os.listdir(tmp_path) == []


def test_write_rotates_previous_and_writes_all_paths(tmp_path):
    last, best, prev = tmp_path / "last.pt", tmp_path / "best.pt", tmp_path / "previous.pt"
    ck.write(_state(step=1), [last], previous=prev)
    assert not prev.exists()  # nothing to keep yet
    ck.write(_state(step=2), [best, last], previous=prev)
    assert ck.load(prev)["step"] == 1
    assert ck.load(last)["step"] == 2 and last.read_bytes() == best.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["best.pt", "last.pt", "previous.pt"]


def test_rotation_after_a_kill_between_link_and_write_leaves_no_temp_file(tmp_path):
    last, prev = tmp_path / "last.pt", tmp_path / "previous.pt"
    ck.write(_state(step=1), [last])
    os.link(last, prev)  # what a kill after the hard link and before last.pt's new write leaves
    ck.write(_state(step=2), [last], previous=prev)
    assert ck.load(prev)["step"] == 1 and ck.load(last)["step"] == 2
    assert sorted(os.listdir(tmp_path)) == ["last.pt", "previous.pt"]


def _age(path, seconds_ago):
    t = time.time() - seconds_ago
    os.utime(path, (t, t))


def test_load_newest_skips_truncated_and_nonfinite(tmp_path, caplog):
    ck.write(_state(step=1), [tmp_path / "old.pt"])
    ck.save_atomic(_state(step=2, bad=True), tmp_path / "previous.pt")
    ck.write(_state(step=3), [tmp_path / "last.pt"])
    data = (tmp_path / "last.pt").read_bytes()
    (tmp_path / "last.pt").write_bytes(data[: len(data) // 2])  # a torn write
    _age(tmp_path / "old.pt", 30), _age(tmp_path / "previous.pt", 20), _age(tmp_path / "last.pt", 10)
    with caplog.at_level(logging.WARNING, logger="ganlab"):
        path, state = ck.load_newest(tmp_path)
    assert path.name == "old.pt" and state["step"] == 1
    warned = caplog.text
    assert "last.pt" in warned and "previous.pt" in warned and "running_var" in warned


def test_load_newest_prefers_last_on_equal_mtime_and_needs_step(tmp_path):
    ck.write(_state(step=5), [tmp_path / "last.pt", tmp_path / "best.pt"])
    ck.save_atomic({"modules": {}}, tmp_path / "z.pt")  # no step: not a training checkpoint
    t = time.time() - 10  # same mtime: best.pt sorts before last.pt by name, yet last.pt wins
    for name in ("best.pt", "last.pt"):
        os.utime(tmp_path / name, (t, t))
    assert ck.load_newest(tmp_path)[0].name == "last.pt"


def test_load_newest_lists_every_tried_file(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"garbage")
    ck.save_atomic(_state(bad=True), tmp_path / "previous.pt")
    ck.save_atomic({"modules": {}}, tmp_path / "best.pt")
    with pytest.raises(CheckpointError) as e:
        ck.load_newest(tmp_path)
    msg = str(e.value)
    assert "last.pt (" in msg and "previous.pt (non-finite" in msg and "best.pt (no 'step'" in msg
    assert "\n" not in msg
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        ck.load_newest(tmp_path / "empty")


def test_load_for_inference_refuses_nan_weights(tmp_path):
    ck.save_atomic(_state(bad=True), tmp_path / "bad.pt")
    ck.save_atomic(_state(), tmp_path / "good.pt")
    with pytest.raises(CheckpointError, match=r"bad\.pt.*modules\.D\.1\.running_var"):
        ck.load_for_inference(tmp_path / "bad.pt")
    assert ck.load_for_inference(tmp_path / "good.pt")["step"] == 1


def test_rotation_keeps_last_in_place_until_the_new_one_replaces_it(tmp_path, monkeypatch):
    """previous.pt is a second name of the old last.pt: a reader (or a kill) between the rotation
    and the new write still finds last.pt whole."""
    last, previous = tmp_path / "last.pt", tmp_path / "previous.pt"
    ck.write({"step": 1}, [last], previous=previous)
    seen = {}

    def failing_write(path, data):  # the moment after the rotation, before the new last.pt exists
        seen["last"] = torch.load(last, weights_only=True)["step"]
        raise OSError("cut")

    monkeypatch.setattr("ganlab.training.checkpoint.atomic_write_bytes", failing_write)
    with pytest.raises(OSError):
        ck.write({"step": 2}, [last], previous=previous)
    assert seen["last"] == 1
    assert torch.load(last, weights_only=True)["step"] == torch.load(previous, weights_only=True)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "previous.pt"]
