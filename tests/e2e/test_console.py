"""The console: under a terminal a rich bar with the log lines above it (never on its line), and
train.log holds every line; piped, plain lines every log_every steps with it/s and ETA."""

import os
import pty
import re
import subprocess

from omegaconf import OmegaConf

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
    assert not re.search(r"step \d+/40 epoch", screen)  # the bar shows the step; no step lines above it
    log = (tmp_path / "run" / "train.log").read_text()
    assert "eval @ step 20" in log and "eval @ step 40" in log and "run dir run" in log and "device cpu |" in log
    # train.log gets the periodic step lines a piped run prints, with its full timestamps
    steps = re.findall(r"^\[\d{4}-\d\d-\d\d [\d:,]+\]\[ganlab\]\[INFO\] - step (\d+)/40 .* it/s", log, re.M)
    assert steps == ["10", "20", "30", "40"], log


def test_piped_output_follows_log_every_with_rate_and_eta(tmp_path):
    p = subprocess.run([GANLAB, "train", *TINY], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    steps = re.findall(r"step (\d+)/40 .* it/s  ETA \d+:\d\d:\d\d", p.stdout)
    assert steps == ["10", "20", "30", "40"], p.stdout
    # one short format for every console line: `HH:MM:SS text`; the banner fits 120 columns
    lines = p.stdout.splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d run dir run", lines[0]), lines[0]
    assert re.match(r"\d\d:\d\d:\d\d device cpu \| precision 32 \| 1 process\(es\) \| parameters: G ", lines[1])
    assert re.match(r"\d\d:\d\d:\d\d config: model=dcgan  ", lines[2])
    logged = [ln for ln in lines if not ln.startswith(("run dir:", "final:", "best ", "next:", "  "))]  # the result, printed
    assert all(re.match(r"\d\d:\d\d:\d\d ", ln) for ln in logged), logged
    assert max(len(ln) for ln in lines[:4]) <= 120, lines[:4]
    log = (tmp_path / "run" / "train.log").read_text()
    assert re.match(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\]\[ganlab\]\[INFO\] - run dir run\n", log)


def test_run_dir_without_overrides_has_no_trailing_underscore():
    import ganlab.commands.train  # noqa: F401  (registers the `short` and `run_start` resolvers)
    from ganlab.config import CONF_DIR
    hydra_cfg = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "config.yaml").hydra)  # unresolved
    for overrides, run, job in (("", r"outputs/[\d-]+/\d\d-\d\d-\d\d", "3"),
                                ("loss=hinge,model/discriminator=unet",
                                 r"outputs/[\d-]+/\d\d-\d\d-\d\d_loss=hinge,model\.discriminator=unet",
                                 "3_loss=hinge,model.discriminator=unet")):
        cfg = OmegaConf.create({"hydra": {"job": {"override_dirname": overrides, "num": 3},
                                          "run": hydra_cfg["run"], "sweep": hydra_cfg["sweep"]}})
        assert re.fullmatch(run, cfg.hydra.run.dir), cfg.hydra.run.dir
        assert cfg.hydra.sweep.subdir == job


def test_the_losses_shown_are_the_algorithms_own():
    from ganlab.callbacks.progress import losses
    gan = ["train/d_real", "train/loss_g", "train/loss_d", "train/loss_cycle", "val/fid"]
    assert losses(gan) == ["train/loss_d", "train/loss_g"]
    assert losses(["train/loss_fm", "train/grad_norm_model"]) == ["train/loss_fm"]  # flow
    assert losses(["train/loss_v", "val/nfe"]) == ["train/loss_v"]  # ddpm
    assert losses(["train/loss_rec", "train/loss_kl"]) == ["train/loss_kl", "train/loss_rec"]  # vae


def test_tricks_line_says_what_a_preset_added():
    from ganlab.commands.train import config_groups, tricks_applied
    assert tricks_applied("none", OmegaConf.create({"perfect_g": {"sigma": 0.1}})) == "perfect_g"
    stabilize = {"label_smoothing": {}, "label_flip": {}, "instance_noise": {}}
    assert tricks_applied("stabilize", OmegaConf.create(stabilize)) == "stabilize"
    assert tricks_applied("stabilize", OmegaConf.create(stabilize | {"lying": {}})) == "stabilize+lying"
    assert tricks_applied("stabilize", OmegaConf.create({"label_flip": {}})) == "label_flip"  # some removed
    assert tricks_applied("none", OmegaConf.create({})) == "none"
    groups = config_groups({"tricks": "none", "model": "dcgan"}, tricks=OmegaConf.create({"perfect_g": {}}))
    assert groups["tricks"] == "perfect_g"


def test_console_lines_are_short_and_warnings_say_so():
    import logging

    from ganlab.commands.console import ShortFormatter
    f = ShortFormatter()
    info = logging.LogRecord("ganlab", logging.INFO, __file__, 1, "run dir %s", ("run",), None)
    warn = logging.LogRecord("ganlab", logging.WARNING, __file__, 1, "stopped at step 3", (), None)
    assert re.fullmatch(r"\d\d:\d\d:\d\d run dir run", f.format(info))
    assert re.fullmatch(r"\d\d:\d\d:\d\d warning: stopped at step 3", f.format(warn))
