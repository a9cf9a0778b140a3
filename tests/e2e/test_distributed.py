"""One run over two processes (torchrun, gloo on CPU): one run directory written by rank 0,
bitwise resume under torchrun, a checkpoint that loads in one process, clear refusals."""

import os
import subprocess
import sys
from pathlib import Path

import torch

from conftest import checkpoint_tensors, run_ganlab, summary

TORCHRUN = str(Path(sys.executable).parent / "torchrun")
TINY = ["model=dcgan", "data=shapes", "trainer.device=cpu", "debug=fast", "model.width=8", "data.image_size=16",
        "data.dataset.size=64", "data.batch_size=16", "trainer.max_steps=12", "trainer.log_every=2",
        "metrics=none", "trainer.eval_every=0"]


def torchrun(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    p = subprocess.run([TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "ganlab", "train", *args], cwd=cwd,
                       env=env, capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"torchrun exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-6000:]}")
    return p


def test_two_processes_one_run_dir_and_bitwise_resume(tmp_path):
    p = torchrun(*TINY, "hydra.run.dir=straight", cwd=tmp_path)
    s = summary(tmp_path / "straight")
    assert s["status"] == "ok" and s["world_size"] == 2 and s["step"] == 12
    assert p.stdout.count("run dir:") == 1  # rank 0 alone reports
    assert len(list((tmp_path / "straight" / "tb").glob("events.*"))) >= 1
    assert len({f.name.split(".")[4] for f in (tmp_path / "straight" / "tb").glob("events.*")}) == 1  # one pid
    assert not (tmp_path / "outputs").exists()  # no second run dir from another rank
    state = torch.load(tmp_path / "straight" / "checkpoints" / "last.pt", weights_only=True)
    assert state["world_size"] == 2 and len(state["ranks"]) == 1  # rank 1's RNG and algorithm state
    assert not torch.equal(state["rng"]["torch"], state["ranks"][0]["rng"]["torch"])  # each rank its own noise

    # torchrun reports a worker's exit 3 (stopped, resumable) as its own failure: read the summary
    torchrun(*TINY, "trainer.stop_at_step=5", "hydra.run.dir=resumed", cwd=tmp_path, check=False)
    assert summary(tmp_path / "resumed")["status"] == "interrupted"
    torchrun(f"resume={tmp_path / 'resumed'}", cwd=tmp_path)
    assert summary(tmp_path / "resumed")["status"] == "ok"
    a = checkpoint_tensors(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = checkpoint_tensors(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert a.keys() == b.keys() and any(k.startswith("ranks.") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume under torchrun"

    # the checkpoint serves one process; resuming it in one process is refused, naming the fix
    run_ganlab("sample", str(tmp_path / "straight" / "checkpoints" / "last.pt"), "--out", "s.png", cwd=tmp_path)
    assert (tmp_path / "s.png").stat().st_size > 100
    p = run_ganlab("train", f"resume={tmp_path / 'straight'}", "trainer.max_steps=14", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "--nproc_per_node=2" in p.stderr


def test_the_global_batch_must_split_evenly(tmp_path):
    p = torchrun(*TINY, "data.batch_size=15", "hydra.run.dir=odd", cwd=tmp_path, check=False)
    assert p.returncode != 0 and "data.batch_size=15" in p.stderr and not (tmp_path / "odd").exists()


def test_sync_batchnorm_on_cpu_is_refused_naming_the_key(tmp_path):
    p = torchrun(*TINY, "trainer.sync_batchnorm=true", "hydra.run.dir=sbn", cwd=tmp_path, check=False)
    assert p.returncode != 0 and "trainer.sync_batchnorm=true needs CUDA" in p.stderr and not (tmp_path / "sbn").exists()


def test_a_sweep_under_torchrun_is_refused(tmp_path):
    p = torchrun(*TINY, "-m", "seed=0,1", cwd=tmp_path, check=False)
    assert p.returncode != 0 and "start sweeps (-m) without torchrun" in p.stderr
    assert not (tmp_path / "outputs").exists()


def test_sharding_gives_each_rank_its_slice_of_the_same_global_batch():
    from ganlab.data.loader import Batches, Position
    data = [{"x": torch.tensor([float(i)])} for i in range(32)]
    whole = [b["x"] for b in Batches(data, batch_size=8, seed=3).epoch(Position(epoch=1, batch=1))]
    parts = [[b["x"] for b in Batches(data, batch_size=8, seed=3, rank=r, world_size=2).epoch(Position(1, 1))]
             for r in range(2)]
    assert len(whole) == 3 and all(torch.equal(torch.cat([parts[0][i], parts[1][i]]), whole[i]) for i in range(3))
