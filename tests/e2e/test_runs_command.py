"""`ganlab runs`: finished, failed, running and stalled runs (a heartbeat tells the last two)."""

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import GANLAB, run_ganlab
from ganlab.commands.runs import command
from test_compare import make_run

TINY = ["model.width=8", "data.image_size=16", "data.dataset.size=64", "data.batch_size=8", "trainer.device=cpu",
        "trainer.log_every=5", "trainer.eval_every=0", "metrics=none", "~data.evaluators"]


def _row(out: str, name: str) -> str:
    return next(ln for ln in out.splitlines() if f" {name} " in ln or f"/{name} " in ln)


def test_runs_lists_finished_failed_running_and_stalled_runs(tmp_path):
    run_ganlab("train", *TINY, "trainer.max_steps=5", "hydra.run.dir=outputs/done", cwd=tmp_path)
    run_ganlab("train", *TINY, "trainer.max_steps=5", "schedule.lr_d=1e30", "schedule.lr_g=1e30",
               "hydra.run.dir=outputs/diverged", cwd=tmp_path, check=False)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    live = subprocess.Popen([GANLAB, "train", *TINY, "trainer.max_steps=100000", "hydra.run.dir=outputs/live"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (tmp_path / "outputs" / "live" / "heartbeat.json").is_file() and time.time() < deadline:
            time.sleep(0.2)
        out = run_ganlab("runs", cwd=tmp_path).stdout
        assert "ok" in _row(out, "done") and "5/5" in _row(out, "done")
        assert "failed" in _row(out, "diverged")
        assert "running" in _row(out, "live") and "/100000" in _row(out, "live")
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait()
    assert "stalled" in _row(run_ganlab("runs", "outputs", cwd=tmp_path).stdout, "live")


def test_runs_without_any_run_names_where_it_looked(tmp_path):
    p = run_ganlab("runs", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "no run found under outputs" in p.stderr


def runs_command(args: list[str]) -> None:
    command.main(args, prog_name="ganlab runs", standalone_mode=False)


def beat(run, *, step: int, total: int, age_s: float = 0.0, pid: int | None = None) -> None:
    (run / "heartbeat.json").write_text(json.dumps({
        "step": step, "total_steps": total, "wall_time_s": 42.0, "time": time.time() - age_s,
        "pid": pid or os.getpid(), "host": socket.gethostname()}))


def test_a_resumed_run_shows_its_heartbeat_step_not_the_old_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    run = make_run(tmp_path / "outputs" / "resumed", overrides=[], metrics={})
    summary = json.loads((run / "summary.json").read_text()) | {"step": 20, "total_steps": 20}
    (run / "summary.json").write_text(json.dumps(summary))
    os.utime(run / "summary.json", (time.time() - 60, time.time() - 60))
    beat(run, step=100, total=300)  # resumed with trainer.max_steps=300, training now (this process)
    runs_command([str(tmp_path / "outputs")])
    row = _row(capsys.readouterr().out, "resumed")
    assert "running" in row and "100/300" in row and "20/20" not in row and "42.0s" in row
    beat(run, step=20, total=20, age_s=120)  # an older heartbeat: the summary says it
    runs_command([str(tmp_path / "outputs")])
    assert "20/20" in _row(capsys.readouterr().out, "resumed")


@pytest.mark.parametrize("width", [80, 120, 200])
def test_runs_fits_the_terminal_with_nothing_cut(tmp_path, capsys, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    day = tmp_path / "outputs" / "2026-12-05"
    names = [f"08-0{i}-00_model=dcgan,loss=hinge,model.discriminator=patchgan,schedule.lr_g=0.0002,seed={i}"
             for i in range(3)]
    for i, (name, status) in enumerate(zip(names, ("ok", "failed", "interrupted"))):
        make_run(day / name, overrides=[], metrics={}, status=status,
                 best={"monitor": "val/fid_random_conv", "mode": "min", "value": 0.0123 + i, "step": 90})
    beat(day / names[2], step=7, total=100, age_s=-1, pid=2**22 + 12345)  # newer, its process gone
    monkeypatch.chdir(tmp_path)
    runs_command([])
    out = capsys.readouterr().out
    assert "…" not in out and max(map(len, out.splitlines())) <= width
    assert "3 of 3 runs under outputs/2026-12-05/, newest first" in out  # paths below their common folder
    first_cells = "".join(ln.split("│")[1].strip() for ln in out.splitlines() if ln.startswith("│"))
    for name in names:  # whole, maybe wrapped over lines
        assert name in first_cells
    for status in ("ok", "failed", "stalled"):
        assert any(f" {status} " in ln for ln in out.splitlines())
    assert "100/100" in out and "7/100" in out
    if width == 200:
        assert "fid_rc=0.0123 @ 90" in out and "fid_rc = val/fid_random_conv" in out and "not shown" not in out
    if width == 80:
        assert "not shown (too wide for 80 columns)" in out
