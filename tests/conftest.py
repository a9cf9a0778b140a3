import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from forkserver import ForkServer

# two pytest-xdist workers share 2 cores: one thread each, in-process and in subprocesses
torch.set_num_threads(1)
GANLAB = str(Path(sys.executable).parent / "ganlab")
# tables are read as piped output, whatever terminal the suite runs in (CI sets COLUMNS=80);
# a test about width sets COLUMNS itself
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


def _command_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HYDRA_FULL_ERROR": "1"}


FORKS = None if os.environ.get("GANLAB_TESTS_EXEC") else ForkServer(GANLAB, _command_env())


def run_ganlab(*args: str, cwd: Path, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """The real `ganlab` command in a subprocess of its own (forked from a process that has already
    imported torch: tests/forkserver.py says what that changes)."""
    env = _command_env()
    if FORKS is None:
        p = subprocess.run([GANLAB, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    else:
        p = FORKS.run(list(args), cwd=cwd, env=env, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"ganlab {' '.join(args)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def train_each(root: Path, runs: dict[str, list[str]], common: list[str]) -> Path:
    """One run per entry of `runs` under `root/<name>` (the shared runs of a module fixture)."""
    for name, args in runs.items():
        run_ganlab("train", *common, *args, f"hydra.run.dir={name}", cwd=root)
    return root


# the smallest whole run (DCGAN on shapes, 2 steps, no evaluation): trained once per session by
# `tiny_run`, for the tests that only need some finished run directory to resume, sample or tamper with
TINY_RUN = ["model.width=8", "data.image_size=16", "data.dataset.size=64", "data.batch_size=8", "trainer.device=cpu",
            "trainer.log_every=1", "~data.evaluators", "trainer.max_steps=2"]


@pytest.fixture(scope="session")
def _tiny_run_once(tmp_path_factory) -> Path:
    return train_each(tmp_path_factory.mktemp("tiny_run"), {"run": TINY_RUN}, []) / "run"


@pytest.fixture
def tiny_run(_tiny_run_once, tmp_path) -> Path:
    """A copy of the session's TINY_RUN at tmp_path/run (the test may change it): what
    `ganlab train TINY_RUN hydra.run.dir=run` run in tmp_path leaves."""
    return Path(shutil.copytree(_tiny_run_once, tmp_path / "run", symlinks=True))


# the default run at `debug=fast` (4 steps, evaluated at 2 and 4, samples, final grid and GIF): trained
# once per session, read by the tests of its run directory, its report, its evaluation
FAST_RUN = ["debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=64", "trainer.device=cpu"]


@pytest.fixture(scope="session")
def fast_run_once(tmp_path_factory) -> tuple[Path, str]:
    """The session's FAST_RUN (read it, never change it) and what its `ganlab train` printed."""
    root = tmp_path_factory.mktemp("fast_run")
    return root / "run", run_ganlab("train", *FAST_RUN, "hydra.run.dir=run", cwd=root).stdout


@pytest.fixture
def fast_run(fast_run_once, tmp_path) -> Path:
    """A copy of the session's FAST_RUN at tmp_path/run (the test may change it)."""
    return Path(shutil.copytree(fast_run_once[0], tmp_path / "run", symlinks=True))


@pytest.fixture
def ganlab(tmp_path):
    def _run(*args, check=True, cwd=None):
        return run_ganlab(*args, cwd=cwd or tmp_path, check=check)
    return _run


def summary(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "summary.json").read_text())


def checkpoint_tensors(ckpt: Path) -> dict:
    """Every tensor of a checkpoint's training state (networks, optimizers, schedulers, RNG),
    flattened to dotted names: what a bitwise comparison of two runs compares."""
    state = torch.load(ckpt, weights_only=True)
    flat = {}

    def walk(prefix, x):
        if isinstance(x, torch.Tensor):
            flat[prefix] = x
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(x, list | tuple):
            for i, v in enumerate(x):
                walk(f"{prefix}.{i}", v)

    for key in ("modules", "optimizers", "schedulers", "rng", "ranks"):  # ranks: the other processes' RNG
        walk(key, state.get(key, {}))
    return flat


def write_idx(path: Path, arr) -> None:
    """A numpy uint8 array as an IDX file (MNIST's format: big-endian header, then the bytes)."""
    code = 0x0800 + arr.ndim  # unsigned byte, ndim dimensions
    path.write_bytes(struct.pack(">i", code) + struct.pack(f">{arr.ndim}i", *arr.shape) + arr.tobytes())


def digits_as_mnist(root: Path, n_train: int = 600, n_test: int = 200) -> Path:
    """MNIST files under root/MNIST/raw (as torchvision reads them) holding scikit-learn's digits
    resized to 28x28: real, learnable digits where MNIST cannot be downloaded."""
    import numpy as np

    from ganlab.data.digits import load_split
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, (images, labels), n in (("train", load_split("train"), n_train), ("t10k", load_split("test"), n_test)):
        big = torch.nn.functional.interpolate(images[:n, None], size=(28, 28), mode="bilinear")[:, 0]
        write_idx(raw / f"{split}-images-idx3-ubyte", (big.clamp(0, 1) * 255).round().to(torch.uint8).numpy())
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels[:n].numpy().astype(np.uint8))
    return root


def bitwise_resume(ganlab, tmp_path: Path, args: list[str], steps: int = 8, stop_at: int = 3,
                   expect: tuple[str, ...] = ("modules.net_ema", "optimizers.model")) -> dict:
    """Train `args` straight for `steps`, and again stopped at `stop_at` then resumed: the two last.pt
    are equal tensor for tensor (with entries under each `expect` prefix) and the two summaries
    equal but for clock readings. The straight run's summary."""
    ganlab("train", *args, f"trainer.max_steps={steps}", "hydra.run.dir=straight")
    ganlab("train", *args, f"trainer.max_steps={steps}", f"trainer.stop_at_step={stop_at}", "hydra.run.dir=resumed",
           check=False)
    assert summary(tmp_path / "resumed")["status"] == "interrupted"
    ganlab("train", f"resume={tmp_path / 'resumed'}")
    a = checkpoint_tensors(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = checkpoint_tensors(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert a.keys() == b.keys()
    for prefix in expect:
        assert any(k.startswith(prefix) for k in a), f"no {prefix}* in the checkpoint"
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    s, r = summary(tmp_path / "straight"), summary(tmp_path / "resumed")
    assert s["status"] == r["status"] == "ok"
    # the whole record but its clock readings (`timings`, e.g. samples/s) and its directory
    assert {k: v for k, v in s.items() if k not in ("timings", "run_dir")} == \
        {k: v for k, v in r.items() if k not in ("timings", "run_dir")}
    return s


def pytest_sessionfinish(session, exitstatus):
    if FORKS is not None:
        FORKS.close()
