"""The fault matrix of the trust issue, as a user meets it: kill -9 at random moments and inside
checkpoint writes, crafted checkpoints and overrides, bad input, a failing job in a sweep, two
processes on one run directory, NaN/Inf, a full disk. Every case runs the real `ganlab` command."""

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from conftest import GANLAB, checkpoint_tensors, run_ganlab, summary

TINY = ["model.width=8", "data.image_size=16", "data.dataset.size=64", "data.batch_size=8", "trainer.device=cpu",
        "trainer.log_every=1"]
# where the test is about checkpoints, signals or jobs, not evaluation: no evaluation at the end
QUICK = [*TINY, "~data.evaluators"]
# a run whose record moves at every step: evaluation, best.pt, health events (patience 2), checkpoints
RECORDED = [*TINY, "trainer.eval_every=4", "callbacks.checkpoint.every_n_steps=1",
            "callbacks.health.patience=2", "callbacks.health.diversity_every=4", "callbacks.health.diversity_patience=1",
            "data.evaluators.fid_proxy.n_samples=64", "data.evaluators.fid_proxy.kid_subset_size=32",
            "callbacks.tensorboard.sample_every_n_steps=8", "schedule.lr_d=2e-3"]


def _env(**extra):
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **extra}


def _record(run_dir: Path) -> dict:
    """summary.json less what differs between two runs of the same config: its clock readings
    (`timings`) and where it ran."""
    s = summary(run_dir)
    assert "wall_time_s" in s.pop("timings")
    s.pop("run_dir")
    return s


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _start(args, cwd, **env):
    return subprocess.Popen([GANLAB, "train", *args], cwd=cwd, env=_env(**env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc, timeout=120):
    t0 = time.time()
    while not path.exists():
        assert proc.poll() is None, f"exited {proc.returncode} before {path.name}: {proc.stderr.read()}"
        assert time.time() - t0 < timeout, f"{path} never appeared"
        time.sleep(0.05)


def _sleep_or_two_writes(proc, last: Path, seconds: float):
    """Waits `seconds`, or less once last.pt has been rewritten twice: a fast model (2D points) runs
    many steps a second, and every kill must land before the run's last step."""
    deadline, seen, writes = time.time() + seconds, None, 0
    while time.time() < deadline and writes < 2 and proc.poll() is None:
        mtime = last.stat().st_mtime_ns if last.is_file() else None
        writes += seen is not None and mtime != seen
        seen = mtime
        time.sleep(0.005)


# -- kill -9 at random moments and inside checkpoint writes, then resume -------------------------

def _kill_loop(tmp_path, kills: int, seed: int, base: list[str] = RECORDED, steps_per_kill: int = 3):
    recorded = [*base, f"trainer.max_steps={steps_per_kill * kills}"]  # room for every kill to land mid-run
    run_ganlab("train", *recorded, "hydra.run.dir=straight", cwd=tmp_path)
    rng = random.Random(seed)
    killed = tmp_path / "killed"
    start = args = [*recorded, f"hydra.run.dir={killed}"]
    steps_at_kill = []
    for i in range(kills):
        marker, last = tmp_path / f"in_write_{i}", killed / "checkpoints" / "last.pt"
        kind = i % 3  # 0: during start-up, 1: inside a checkpoint write, 2: mid-training
        env = {"GANLAB_TEST_PAUSE_IN_WRITE": str(marker)} if kind == 1 else {}
        before = last.stat().st_mtime_ns if last.is_file() else 0
        proc = _start(args, tmp_path, **env)
        if kind == 0:
            _sleep_or_two_writes(proc, last, rng.uniform(0.5, 3.0))
        elif kind == 1:
            _wait_for(marker, proc)
        else:  # once this session has written a checkpoint of its own, at a random moment after it
            while not (last.is_file() and last.stat().st_mtime_ns != before):
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.005)
            _sleep_or_two_writes(proc, last, rng.uniform(0.0, 1.5))
        proc.kill()
        proc.wait()
        # killed before Hydra wrote the run directory: nothing exists, the user starts again
        args = [f"resume={killed}"] if (killed / ".hydra" / "overrides.yaml").is_file() else start
        last = killed / "checkpoints" / "last.pt"
        saved = [p for p in (last, last.with_name("previous.pt")) if p.is_file()]  # killed mid-rotation: previous only
        steps_at_kill.append(max((torch.load(p, weights_only=True)["step"] for p in saved), default=0))
    assert not (killed / "summary.json").is_file(), "the run finished before every kill landed"
    assert len(set(steps_at_kill)) >= min(3, kills // 2), steps_at_kill  # the kills landed at different points
    run_ganlab("train", f"resume={killed}", cwd=tmp_path)
    return tmp_path / "straight", killed


def _assert_same_run(straight: Path, killed: Path):
    a, b = checkpoint_tensors(straight / "checkpoints" / "last.pt"), checkpoint_tensors(killed / "checkpoints" / "last.pt")
    assert a.keys() == b.keys() and len(a) > 20
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after kill -9 and resume"
    assert _record(killed) == _record(straight)
    assert checkpoint_tensors(straight / "checkpoints" / "best.pt").keys() == checkpoint_tensors(killed / "checkpoints" / "best.pt").keys()
    assert not [p for p in (killed / "checkpoints").iterdir() if p.name.startswith(".ganlab-tmp.")]


def test_kill_9_ten_times_then_resume_gives_the_same_weights_and_record(tmp_path):
    straight, killed = _kill_loop(tmp_path, kills=10, seed=0)
    s = summary(straight)
    assert s["best"] and any(k.startswith("val/") for k in s["metrics"]) and s["events"] and s["protocols"]
    _assert_same_run(straight, killed)


@pytest.mark.slow
def test_kill_9_twenty_times_then_resume_gives_the_same_weights_and_record(tmp_path):
    _assert_same_run(*_kill_loop(tmp_path, kills=20, seed=1))


def test_kill_9_inside_a_best_checkpoint_write_then_resume_still_gives_best_pt(tmp_path):
    """best.pt and last.pt are asked for at the same step; killed after one and before the other,
    the resumed run must still end with a best.pt (written last, last.pt kept it from being lost)."""
    args = [*RECORDED, "trainer.max_steps=4"]  # one evaluation, at the last step: best.pt is written once
    run_ganlab("train", *args, "hydra.run.dir=straight", cwd=tmp_path)
    marker, killed = tmp_path / "in_best", tmp_path / "killed"
    proc = _start([*args, f"hydra.run.dir={killed}"], tmp_path, GANLAB_TEST_PAUSE_IN_WRITE=str(marker),
                  GANLAB_TEST_PAUSE_NAME="best.pt")
    _wait_for(marker, proc)
    proc.kill()
    proc.wait()
    assert not (killed / "checkpoints" / "best.pt").exists()
    run_ganlab("train", f"resume={killed}", cwd=tmp_path)
    _assert_same_run(tmp_path / "straight", killed)
    a, b = (checkpoint_tensors(d / "checkpoints" / "best.pt") for d in (tmp_path / "straight", killed))
    assert all(torch.equal(a[k], b[k]) for k in a)


# the same record-moving run for the other families: 2D points, translation, a one-phase baseline
OTHER_MODELS = {
    "mlp_ring8": ["model=mlp", "data=ring8", "data.batch_size=16", "data.dataset.size=64", "trainer.device=cpu",
                  "trainer.log_every=1", "trainer.eval_every=4", "callbacks.checkpoint.every_n_steps=1",
                  "data.evaluators.modes.n_samples=200"],
    "agan_toyzebra": ["model=agan", "data=toyzebra", "model.width=8", "model.discriminator.width=8",
                      "data.image_size=32", "data.dataset.size=8", "data.test_dataset.size=4", "data.batch_size=2",
                      "trainer.device=cpu", "trainer.log_every=1", "trainer.eval_every=4",
                      "callbacks.checkpoint.every_n_steps=1"],
    "ddpm_shapes": ["model=ddpm", "data=shapes", "data.image_size=16", "data.dataset.size=32", "data.batch_size=8",
                    "trainer.device=cpu", "trainer.log_every=1", "trainer.eval_every=4",
                    "callbacks.checkpoint.every_n_steps=1", "model.algorithm.sample_steps=4",
                    "data.evaluators.fid_proxy.n_samples=16", "data.evaluators.fid_proxy.kid_subset_size=8",
                    "data.evaluators.fid_proxy.batch_size=16", "data.evaluators.sampling_cost.n_samples=4"],
}


@pytest.mark.slow
@pytest.mark.parametrize("model", list(OTHER_MODELS))
def test_kill_9_on_every_family_then_resume_gives_the_same_weights_and_record(tmp_path, model):
    steps_per_kill = 16 if model == "ddpm_shapes" else 4  # its tiny steps outrun a kill that waits up to 1.5 s
    straight, killed = _kill_loop(tmp_path, kills=5, seed=2, base=OTHER_MODELS[model], steps_per_kill=steps_per_kill)
    _assert_same_run(straight, killed)


def _plant_temp_files(run: Path) -> tuple[Path, list[Path]]:
    """A stale temp file of a killed ganlab in `run`, and files of the user's that look like one."""
    ckpts = run / "checkpoints"
    stale = ckpts / f".ganlab-tmp.{_dead_pid()}.abc_1234.last.pt"  # what a killed ganlab leaves
    stale.write_bytes(b"half a checkpoint")
    mine = [ckpts / "my_notes.txt", ckpts / ".last.pt.abc123.tmp", run / ".report.final.tmp"]
    for p in mine:  # the old temp pattern, and a user's own dot-file: not ganlab's
        p.write_text("mine")
    return stale, mine


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    run_ganlab("train", *QUICK, "trainer.max_steps=6", "callbacks.checkpoint.every_n_steps=2",
               "callbacks.checkpoint.monitor=null", "hydra.run.dir=run", cwd=tmp_path)
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    assert (tmp_path / "run" / "checkpoints" / "previous.pt").is_file()
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    p = run_ganlab("train", "resume=run", "trainer.max_steps=8", cwd=tmp_path)
    log = p.stdout + p.stderr + (tmp_path / "run" / "train.log").read_text()
    assert "skipping checkpoint" in log and "last.pt" in log  # which one was skipped...
    assert "from run/checkpoints/previous.pt at step 4" in log  # ... and which one was used
    assert summary(tmp_path / "run")["status"] == "ok" and summary(tmp_path / "run")["step"] == 8


# -- nothing of the user's is ever deleted; bad input creates nothing ---------------------------

BASE = [a for a in TINY if not a.startswith("data.dataset.size")]  # folder data has no size
BAD_INPUTS = [
    (["trainer.precision=fp8"], "trainer.precision"),
    (["data.batch_size=0"], "data.batch_size"),
    (["data.batch_size=-3"], "data.batch_size"),
    (["data.batch_size=abc"], "data.batch_size"),
    (["schedule.lr_d=abc"], "schedule.lr_d"),
    (["data.image_size=17"], "image_size"),
    (["data=folder", "data.root=keep.txt"], "keep.txt"),
    (["data=folder", "data.root=images"], "broken.png"),
    (["+model.networks.G.nope=1"], "nope"),
    (["trainer.nope=1"], "trainer.nope"),
    (["model=nope"], "dcgan"),
    (["trainer.max_steps=0", "trainer.max_epochs=0"], "trainer.max_steps"),
]


@pytest.mark.parametrize("bad,named", BAD_INPUTS, ids=[" ".join(b) for b, _ in BAD_INPUTS])
def test_bad_input_in_the_current_directory_deletes_and_creates_nothing(tmp_path, bad, named):
    (tmp_path / "keep.txt").write_text("a user's file")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "broken.png").write_bytes(b"not an image")
    before = _listing(tmp_path)
    p = run_ganlab("train", *BASE, "hydra.run.dir=.", *bad, cwd=tmp_path, check=False)
    assert p.returncode == 2, p.stderr
    assert named in p.stderr and "Traceback" not in p.stderr + p.stdout
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert _listing(tmp_path) == before  # nothing deleted, nothing created


def test_bad_input_with_the_default_run_dir_creates_no_directory(tmp_path):
    p = run_ganlab("train", *TINY, "data.batch_size=0", cwd=tmp_path, check=False)
    assert p.returncode == 2 and not (tmp_path / "outputs").exists()


def test_a_run_that_starts_then_fails_keeps_its_directory_with_status_failed(tmp_path):
    """NaN/Inf: the run stops within the step, names phase, step and tensor, writes no checkpoint
    with a non-finite value, and the directory (logs, summary) stays."""
    p = run_ganlab("train", *TINY, "loss=lsgan", "schedule.lr_d=1e6", "schedule.lr_g=1e6", "trainer.max_steps=40",
                   "callbacks.checkpoint.every_n_steps=1", "hydra.run.dir=run", cwd=tmp_path, check=False)
    assert p.returncode == 1, p.stderr
    s = summary(tmp_path / "run")
    assert s["status"] == "failed" and "phase" in s["error"] and "step" in s["error"]
    assert (tmp_path / "run" / "train.log").read_text().strip()
    for ckpt in (tmp_path / "run" / "checkpoints").glob("*.pt"):
        assert all(torch.isfinite(t).all() for t in checkpoint_tensors(ckpt).values() if t.is_floating_point()), ckpt
    assert "last good checkpoint" in p.stderr + p.stdout or "No checkpoint was written" in p.stderr + p.stdout


def test_an_internal_error_shows_its_traceback_and_keeps_the_run_directory(tmp_path):
    """Not bad input but an unhandled exception mid-run (here the sample grid asks for more
    images than the data holds): a traceback, exit 1, and the run kept with status failed."""
    p = run_ganlab("train", "model=agan", "data=toyzebra", "model.width=8", "model.discriminator.width=8",
                   "data.image_size=32", "data.dataset.size=8", "data.test_dataset.size=8", "data.batch_size=2",
                   "trainer.device=cpu", "trainer.max_steps=4", "+model.algorithm.n_visuals=50", "hydra.run.dir=run",
                   cwd=tmp_path, check=False)
    assert p.returncode == 1 and "Traceback" in p.stderr and "IndexError" in p.stderr, p.stderr[-2000:]
    s = summary(tmp_path / "run")
    assert s["status"] == "failed" and "IndexError" in s["error"]
    assert "Traceback" in (tmp_path / "run" / "train.log").read_text()


def test_a_checkpoint_with_nan_weights_is_refused_by_sample(tmp_path, tiny_run):
    ckpt = tmp_path / "run" / "checkpoints" / "last.pt"
    state = torch.load(ckpt, weights_only=True)
    next(iter(state["modules"]["G"].values())).fill_(float("nan"))
    torch.save(state, tmp_path / "nan.pt")
    p = run_ganlab("sample", str(tmp_path / 'nan.pt'), "--out", "s.png", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "non-finite" in p.stderr and not (tmp_path / "s.png").exists()


def test_bad_sample_arguments_are_one_line_errors(tmp_path, tiny_run):
    ckpt = str(tmp_path / 'run' / 'checkpoints' / 'last.pt')
    (tmp_path / "keep.txt").write_text("a user's file")
    readonly = tmp_path / "ro"
    readonly.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(readonly)],
                             capture_output=True).returncode == 0
    cases = [(["--n", "0"], "--n"), (["--n=-3"], "--n"), (["--n", "abc"], "abc"), (["--out", "keep.txt/s.png"], "keep.txt"),
             (["n=3"], "n=3")]
    if mounted:
        cases.append((["--out", f"{readonly}/s.png"], str(readonly)))
    try:
        for arg, named in cases:
            p = run_ganlab("sample", ckpt, *arg, cwd=tmp_path, check=False)
            assert p.returncode == 2 and named in p.stderr, (arg, p.stderr)
            assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, (arg, p.stderr)
    finally:
        if mounted:
            subprocess.run(["umount", str(readonly)])
    assert (tmp_path / "keep.txt").read_text() == "a user's file"


# -- no code runs from a checkpoint or a run directory --------------------------------------------

def test_crafted_checkpoint_config_builds_nothing(tmp_path, tiny_run):
    marker = tmp_path / "marker"
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    state["config"]["model"]["networks"]["G"] = {"_target_": "builtins.open", "_args_": [str(marker), "w"]}
    torch.save(state, tmp_path / "crafted.pt")  # loads cleanly with weights_only=True
    for cmd in (["sample", "--out", "s.png"], ["eval", "--metrics", "fid", "--feature", "random_conv"],
                ["translate", "run", "o"]):
        p = run_ganlab(cmd[0], str(tmp_path / 'crafted.pt'), *cmd[1:], cwd=tmp_path, check=False)
        assert p.returncode == 2 and "builtins.open" in p.stderr, (cmd, p.stderr)
        assert not marker.exists(), cmd


def test_crafted_overrides_in_a_run_directory_build_nothing(tmp_path, tiny_run):
    marker = tmp_path / "marker"
    saved = tmp_path / "run" / ".hydra" / "overrides.yaml"
    saved.write_text(saved.read_text() + f"- model.networks.G._target_=builtins.open\n"
                     f"- +model.networks.G._args_=[{marker},w]\n")
    p = run_ganlab("train", "resume=run", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "builtins.open" in p.stderr and not marker.exists()


# -- resume changes only what it may -----------------------------------------------------------

def test_a_refused_resume_leaves_the_run_as_it_was_and_the_next_one_takes_a_new_lr_and_cleans_up(tmp_path, tiny_run):
    """One run, three contracts (a resume costs a process): a refused resume changes nothing; the
    next one works, takes a new learning rate (and records it), removes a killed ganlab's stale
    temp file and keeps the user's files."""
    stale, mine = _plant_temp_files(tmp_path / "run")
    saved = (tmp_path / "run" / ".hydra" / "overrides.yaml").read_text()
    p = run_ganlab("train", "resume=run", "model.width=64", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "model.width" in p.stderr and "Traceback" not in p.stderr
    assert (tmp_path / "run" / ".hydra" / "overrides.yaml").read_text() == saved
    run_ganlab("train", "resume=run", "trainer.max_steps=6", "schedule.lr_d=1e-3", cwd=tmp_path)
    assert summary(tmp_path / "run")["step"] == 6
    assert not stale.exists() and all(p.read_text() == "mine" for p in mine)
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert state["optimizers"]["D"]["param_groups"][0]["lr"] == pytest.approx(1e-3)
    assert state["config"]["schedule"]["lr_d"] == pytest.approx(1e-3)
    assert "lr_d: 0.001" in (tmp_path / "run" / ".hydra" / "config.yaml").read_text()


def test_resume_of_a_directory_without_checkpoint_starts_in_place(tmp_path, tiny_run):
    (tmp_path / "empty").mkdir()
    os.rename(tiny_run / ".hydra", tmp_path / "empty" / ".hydra")
    p = run_ganlab("train", "resume=empty", cwd=tmp_path)
    assert "step 0" in p.stdout + p.stderr and summary(tmp_path / "empty")["step"] == 2


# -- one process per run directory; signals and exit codes ----------------------------------------

def test_a_second_process_on_a_locked_run_dir_is_refused_and_a_killed_holder_frees_it(tmp_path):
    marker = tmp_path / "paused"
    holder = _start([*QUICK, "trainer.max_steps=4", "callbacks.checkpoint.every_n_steps=1", "hydra.run.dir=run"],
                    tmp_path, GANLAB_TEST_PAUSE_IN_WRITE=str(marker))
    try:
        _wait_for(marker, holder)
        p = run_ganlab("train", "resume=run", cwd=tmp_path, check=False)
        assert p.returncode == 2 and f"PID {holder.pid}" in p.stderr, p.stderr
    finally:
        holder.kill()
        holder.wait()
    run_ganlab("train", "resume=run", cwd=tmp_path)
    assert summary(tmp_path / "run")["status"] == "ok"


def test_sigterm_exits_143_interrupted_and_stop_at_step_exits_3(tmp_path):
    proc = _start([*QUICK, "trainer.max_steps=100000", "hydra.run.dir=run"], tmp_path)
    _wait_for(tmp_path / "run" / "tb", proc)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    s = summary(tmp_path / "run")
    assert s["status"] == "interrupted" and (tmp_path / "run" / "checkpoints" / "last.pt").is_file()
    p = run_ganlab("train", *QUICK, "trainer.max_steps=8", "trainer.stop_at_step=4", "hydra.run.dir=early",
                   cwd=tmp_path, check=False)
    assert p.returncode == 3 and summary(tmp_path / "early")["status"] == "interrupted"


def test_sigterm_during_startup_creates_nothing(tmp_path):
    proc = _start([*TINY, "hydra.run.dir=run"], tmp_path)
    time.sleep(0.3)  # importing torch takes longer: the signal lands before any directory exists
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    assert not (tmp_path / "run").exists()


# -- sweeps with a failing job ------------------------------------------------------------------

@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                                      ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"]],
                         ids=["basic", "joblib", "submitit_local"])
def test_a_failing_job_does_not_stop_the_sweep(tmp_path, launcher):
    p = run_ganlab("train", "-m", *launcher, *QUICK, "trainer.max_steps=4", "data.image_size=16,17,32",
                   "hydra.sweep.dir=sweep", "hydra.sweep.subdir=${hydra.job.num}", cwd=tmp_path, check=False)
    assert p.returncode == 1, p.stderr
    statuses = {n: summary(tmp_path / "sweep" / str(n))["status"] for n in range(3)}
    assert statuses == {0: "ok", 1: "failed", 2: "ok"}
    assert "image_size" in summary(tmp_path / "sweep" / "1")["error"]
    assert "3 jobs, 2 ok, 1 not ok" in p.stdout
    table = run_ganlab("compare", "sweep", cwd=tmp_path).stdout
    assert "failed" in table and table.count(" ok ") >= 2


def test_a_preempted_submitit_job_checkpoints_requeues_and_resumes_exactly(tmp_path):
    """SIGUSR2 (SLURM's warning before preemption or the time limit, here to a submitit_local job):
    the step ends, last.pt is written, submitit requeues the job, the new job resumes the run dir;
    the result is bitwise the uninterrupted run's."""
    args = [*TINY, "trainer.max_steps=400", "trainer.log_every=50", "trainer.eval_every=0", "metrics=none",
            "~data.evaluators", "callbacks.tensorboard.sample_every_n_steps=1000"]
    run_ganlab("train", *args, "hydra.run.dir=straight", cwd=tmp_path)
    sweep = subprocess.Popen([GANLAB, "train", "-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10",
                              *args, "seed=0", "hydra.sweep.dir=sweep",
                              "hydra.sweep.subdir=job"], cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    log = tmp_path / "sweep" / "job" / "train.log"
    deadline = time.time() + 120
    while not (log.is_file() and "step 100/" in log.read_text()) and time.time() < deadline:
        time.sleep(0.2)
    jobs = subprocess.run(["pgrep", "-f", f"submitit.core._submit {tmp_path}"], capture_output=True, text=True)
    assert jobs.stdout.split(), "no submitit job process found"
    for pid in jobs.stdout.split():
        os.kill(int(pid), signal.SIGUSR2)
    out, _ = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, out
    text = log.read_text()
    assert "handing over to submitit to requeue" in text and "requeued job: resuming" in text
    s = summary(tmp_path / "sweep" / "job")
    assert s["status"] == "ok" and s["step"] == 400
    a = checkpoint_tensors(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = checkpoint_tensors(tmp_path / "sweep" / "job" / "checkpoints" / "last.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after the requeue"


def test_the_slurm_launcher_config_composes(tmp_path):
    out = run_ganlab("train", "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "--cfg", "hydra", cwd=tmp_path).stdout
    assert "SlurmLauncher" in out and "partition: gpu" in out and "signal_delay_s: 120" in out
    assert list(tmp_path.iterdir()) == []


# -- a full disk --------------------------------------------------------------------------------

def test_a_full_disk_names_the_path_and_keeps_the_previous_checkpoint(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (the ENOSPC path is covered in test_checkpoint_io.py)")
    try:
        p = run_ganlab("train", *TINY, "trainer.max_steps=50", "callbacks.checkpoint.every_n_steps=1",
                       "callbacks.tensorboard.sample_every_n_steps=0", f"hydra.run.dir={disk / 'run'}",
                       cwd=tmp_path, check=False)
        assert p.returncode == 1 and "no space left on device" in p.stderr.lower(), p.stderr
        assert str(disk / "run") in p.stderr and "Traceback" not in p.stderr
        ckpts = sorted((disk / "run" / "checkpoints").glob("*.pt"))
        assert ckpts and all(torch.load(c, weights_only=True)["step"] >= 1 for c in ckpts)
    finally:
        subprocess.run(["umount", str(disk)])
