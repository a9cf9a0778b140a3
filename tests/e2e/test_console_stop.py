"""Ctrl-C before the first logged step: a resumable stop with no empty `final:` line."""

import os
import signal
import subprocess
import time

from conftest import GANLAB, summary
from ganlab.errors import command_line


def test_ctrl_c_before_the_first_logged_step_prints_no_empty_final_line(tmp_path):
    args = ["train", "model.width=8", "data.image_size=16", "data.dataset.size=64", "trainer.device=cpu",
            "trainer.max_steps=100000", "trainer.log_every=100000", "trainer.eval_every=100000", "hydra.run.dir=run"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([GANLAB, *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    deadline = time.time() + 120
    while not (tmp_path / "run" / "heartbeat.json").is_file() and time.time() < deadline:
        time.sleep(0.2)  # written when training starts
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    s = summary(tmp_path / "run")
    assert s["status"] == "interrupted" and s["step"] < 100000 and s["metrics"] == {}
    assert "run dir: " in out and "final:" not in out  # nothing was logged: nothing to show
    assert f"continue with `{command_line('ganlab', 'resume', tmp_path / 'run')}`" in out + err
    assert f"\n  {command_line('ganlab', 'resume', tmp_path / 'run')}\n" in out  # and among the next steps
