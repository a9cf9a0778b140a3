"""End-to-end: the real `ganlab` command in subprocesses, on tiny configs."""

import re

import torch

from conftest import FAST_RUN, checkpoint_tensors, summary

TINY = ["debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=64", "trainer.device=cpu"]


def test_train_writes_a_complete_run_dir(fast_run_once):
    run, stdout = fast_run_once  # `ganlab train FAST_RUN hydra.run.dir=run`, the same as TINY here
    assert FAST_RUN == TINY
    s = summary(run)
    assert s["status"] == "ok" and s["step"] == 4
    assert {"train/loss_d", "train/loss_g", "train/d_real", "train/d_fake"} <= set(s["metrics"])
    groups = s["config_groups"]  # what the run is made of, with the default run's tuned file
    assert groups["model"] == "dcgan" and groups["data"] == "shapes"
    assert groups["tuned"] == "conf/tuned/dcgan_shapes.yaml"
    assert (run / "checkpoints" / "last.pt").is_file()
    assert (run / ".hydra" / "config.yaml").is_file() and (run / "train.log").is_file()
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert list((run / "samples").glob("grid_step*.png"))
    assert f"run dir: {run}" in stdout or "run dir: run" in stdout


def test_tensorboard_events_hold_namespaced_scalars_and_images(fast_run_once):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(fast_run_once[0] / "tb"))
    acc.Reload()
    tags = acc.Tags()
    for t in ("train/loss_d", "train/loss_g", "train/d_real", "train/d_fake", "train/grad_norm_d",
              "train/grad_norm_g", "train/lr_d", "train/lr_g"):
        assert t in tags["scalars"], t
    assert "samples/grid" in tags["images"]


def test_default_run_dir_is_named_by_overrides(ganlab, tmp_path):
    ganlab("train", *TINY, "loss=lsgan", "trainer.max_steps=1", "~data.evaluators")  # the name, not the run
    runs = list((tmp_path / "outputs").glob("*/*"))
    assert len(runs) == 1 and "loss=lsgan" in runs[0].name


def test_cfg_job_prints_composed_config(ganlab):
    p = ganlab("train", "model=cgan", "--cfg", "job")
    assert "ganlab.models.dcgan.Generator" in p.stdout and "num_classes: 12" in p.stdout


def test_unknown_option_lists_choices_and_fails(ganlab, tmp_path):
    p = ganlab("train", "model=nope", check=False)
    assert p.returncode != 0
    assert "nope" in p.stderr and "dcgan" in p.stderr  # Hydra lists the available options
    assert not (tmp_path / "outputs").exists() or not list((tmp_path / "outputs").rglob("summary.json"))


def test_sample_rebuilds_generator_from_checkpoint_alone(ganlab, tmp_path):
    ganlab("train", *TINY, "model=cgan", "~data.evaluators", "hydra.run.dir=run")  # no evaluation: not its subject
    ckpt = tmp_path / "run" / "checkpoints" / "last.pt"
    (tmp_path / "run" / ".hydra").rename(tmp_path / "hidden")  # the checkpoint must suffice
    p = ganlab("sample", str(ckpt), "--n", "16", "--out", "grid.png", "--device", "cpu")
    assert (tmp_path / "grid.png").stat().st_size > 100
    assert "16 samples" in p.stdout


def test_sample_missing_checkpoint_is_a_clear_error(ganlab):
    p = ganlab("sample", "nope.pt", check=False)
    assert p.returncode == 2 and "nope.pt" in p.stderr


def _assert_bitwise_resume(ganlab, tmp_path, extra, stop_at):
    base = [*TINY, "trainer.max_steps=8", "data.dataset.size=32", *extra]  # 4 steps per epoch
    ganlab("train", *base, "hydra.run.dir=straight")
    ganlab("train", *base, f"trainer.stop_at_step={stop_at}", "hydra.run.dir=resumed", check=False)
    assert summary(tmp_path / "resumed")["status"] == "interrupted"
    ganlab("train", f"resume={tmp_path / 'resumed'}")
    s = summary(tmp_path / "resumed")
    assert s["status"] == "ok" and s["step"] == 8
    a = checkpoint_tensors(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = checkpoint_tensors(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert a.keys() == b.keys() and len(a) > 10
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"


def test_resume_is_bitwise_mid_epoch(ganlab, tmp_path):
    _assert_bitwise_resume(ganlab, tmp_path, ["loss=wgan_gp", "model.algorithm.ema_decay=0.9"], stop_at=3)


def test_resume_is_bitwise_at_epoch_boundary(ganlab, tmp_path):
    _assert_bitwise_resume(ganlab, tmp_path, ["model=cgan"], stop_at=4)


def test_mlp_on_ring8_reports_mode_metrics(ganlab, tmp_path):
    # two evaluations (best.pt at the first), not a trained ring: 20 steps (300 took ~14 s for the same asserts)
    ganlab("train", "model=mlp", "data=ring8", "debug=fast", "trainer.max_steps=20", "trainer.eval_every=10",
           "data.batch_size=128", "callbacks.tensorboard.sample_every_n_steps=10", "trainer.device=cpu",
           "hydra.run.dir=run")
    s = summary(tmp_path / "run")
    assert {"val/modes", "val/hq", "val/reverse_kl"} <= set(s["metrics"])
    # the tuned defaults of mlp x ring8 are applied, said at start and recorded
    assert s["config_groups"]["tuned"] == "conf/tuned/mlp_ring8.yaml"
    assert "tuned defaults applied: conf/tuned/mlp_ring8.yaml" in (tmp_path / "run" / "train.log").read_text()
    assert s["best"]["monitor"] == "val/modes"
    assert (tmp_path / "run" / "checkpoints" / "best.pt").is_file()
    assert list((tmp_path / "run" / "samples").glob("scatter_step*.png"))


def test_sweep_runs_in_parallel_with_the_joblib_launcher(ganlab, tmp_path):
    p = ganlab("train", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *TINY, "seed=0,1",
               "hydra.sweep.dir=sweep")
    runs = sorted((tmp_path / "sweep").glob("*seed=*"))
    assert [r.name.split("_")[0] for r in runs] == ["0", "1"]
    assert all(summary(r)["status"] == "ok" for r in runs)
    # interleaved on one console, each job's lines carry its number (Hydra's #N); train.log doesn't
    lines = (p.stdout + p.stderr).splitlines()
    for n, run in enumerate(runs):
        own = [line for line in lines if str(run) in line or f"{run.name}/" in line]
        assert own and all(line.startswith(f"#{n} ") for line in own if "[HYDRA]" not in line)
        assert any(line.startswith(f"#{n} final: ") for line in lines)
        assert sum(bool(re.match(rf"#{n} \d\d:\d\d:\d\d step 4/4 ", line)) for line in lines) == 1
        assert not any(line.startswith("#") for line in (run / "train.log").read_text().splitlines())
