"""`ganlab runs`: finished, failed, running and stalled runs (a heartbeat tells the last two)."""

import os
import signal
import subprocess
import time

from conftest import GANLAB, run_ganlab

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
