"""The console: under a terminal a rich bar with the log lines above it (never on its line), and
train.log holds every line; piped, plain lines every log_every steps with it/s and ETA."""

import os
import pty
import re
import subprocess

from conftest import GANLAB

TINY = ["debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=64", "trainer.device=cpu",
        "trainer.max_steps=40", "trainer.log_every=10", "trainer.eval_every=20", "hydra.run.dir=run"]


def test_under_a_terminal_log_lines_print_above_the_bar_and_reach_train_log(tmp_path):
    leader, follower = pty.openpty()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "160", "TERM": "xterm"}
    p = subprocess.Popen([GANLAB, "train", *TINY], cwd=tmp_path, env=env, stdin=follower, stdout=follower,
                         stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert p.wait(timeout=300) == 0
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", b"".join(chunks).decode(errors="replace"))
    evals = [ln for ln in screen.splitlines() if "eval @ step" in ln]
    assert evals and not [ln for ln in evals if "━" in ln]  # never written onto the bar's line
    assert "━" in screen  # the bar was there
    log = (tmp_path / "run" / "train.log").read_text()
    assert "eval @ step 20" in log and "eval @ step 40" in log and "run dir run | device cpu" in log


def test_piped_output_follows_log_every_with_rate_and_eta(tmp_path):
    p = subprocess.run([GANLAB, "train", *TINY], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    steps = re.findall(r"step (\d+)/40 .* it/s  ETA \d+:\d\d:\d\d", p.stdout)
    assert steps == ["10", "20", "30", "40"], p.stdout
