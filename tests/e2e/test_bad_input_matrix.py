"""The fault matrix: bad input to every command gives exit code 2, exactly one line on stderr (no
traceback) naming what to fix, and creates nothing, neither in the current directory nor in the
runs and checkpoints it was given. Each case runs the real `ganlab` in a subprocess; the cases
that build or load networks (over ~3 s) are marked slow."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from conftest import GANLAB

TINY = ["model.width=8", "data.image_size=16", "data.dataset.size=64", "data.batch_size=8", "trainer.device=cpu",
        "trainer.max_steps=1", "callbacks.tensorboard.sample_every_n_steps=0", "~data.evaluators"]
slow = pytest.mark.slow
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


@pytest.fixture(scope="module")
def given(tmp_path_factory) -> Path:
    """A tiny run and copies of it with a tampered checkpoint (the cases that load one are slow)."""
    root = tmp_path_factory.mktemp("given")
    p = subprocess.run([GANLAB, "train", *TINY, f"hydra.run.dir={root / 'run'}"], cwd=root, capture_output=True,
                       text=True, env=_env())
    assert p.returncode == 0, p.stderr
    state = torch.load(root / "run" / "checkpoints" / "last.pt", weights_only=True)
    for name, value in (("env", "${oc.env:HOME}"), ("foo", "${foo:bar}")):
        shutil.copytree(root / "run", root / f"{name}_run")
        tampered = {**state, "config": {**state["config"], "seed": value}}
        torch.save(tampered, root / f"{name}_run" / "checkpoints" / "last.pt")
    return root


def _env(**extra) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **extra}


def _no_wandb_key(home: Path) -> dict:
    """No key anywhere (env, ~/.netrc) and no mode chosen; a W&B server that is never reached."""
    env = {k: v for k, v in _env().items() if not k.startswith("WANDB_") and k != "NETRC"}
    return env | {"HOME": str(home), "WANDB_BASE_URL": "http://127.0.0.1:9"}


CKPT = "{given}/run/checkpoints/last.pt"
ANY_FILE = "{cwd}/keep.txt"  # a checkpoint argument where the command stops at its options
# (id, arguments, what the line names); {given}: the fixture's folder, {cwd}: the case's own (see _setup)
CASES = [
    # train: the data does not fit the model (checked from the config, before anything is built)
    ("agan-on-shapes", ["train", "model=agan", "data=shapes"], "data=horse2zebra, toyzebra or unpaired_folder"),
    pytest.param("dcgan-on-ring8", ["train", "model=dcgan", "data=ring8"], "needs images", marks=slow),
    pytest.param("dcgan-on-toyzebra", ["train", "model=dcgan", "data=toyzebra"], "needs images", marks=slow),
    ("mlp-on-shapes", ["train", "model=mlp", "data=shapes"], "data=grid25 or ring8"),
    pytest.param("flow-mlp-on-shapes", ["train", "model=flow", "model/denoiser=mlp", "data=shapes"], "TimeMLP",
                 marks=slow),
    pytest.param("cyclegan-on-ring8", ["train", "model=cyclegan", "data=ring8"], "needs unpaired data", marks=slow),
    # train: out of range
    ("image-size-huge", ["train", "data.image_size=100000"], "data.image_size=100000: must be an integer in [1, 4096]"),
    ("image-size-0", ["train", "data.image_size=0"], "data.image_size=0"),
    ("image-size-negative", ["train", "data.image_size=-8"], "data.image_size=-8"),
    # refused before a dataset of that size is built (4096 images of 1000 px would fill memory first)
    ("image-size-not-pow2", ["train", "data.image_size=1000"], "model.networks.G: image_size=1000: must be a power of two"),
    # train: unknown keys
    ("typo-key", ["train", "trainer.max_step=10"], "trainer.max_step: no such key; did you mean trainer.max_steps?"),
    ("bare-lr", ["train", "lr=1e-3"], "did you mean schedule.lr_"),
    ("plus-typo-key", ["train", "+trainer.max_step=10"], "did you mean trainer.max_steps?"),
    ("plus-unread-top-key", ["train", "+tag=baseline"], "+tag: adds a key that nothing reads"),
    ("unknown-group-option", ["train", "data=nosuch"], "Could not find 'data/nosuch'"),
    # train: where it would write
    ("run-dir-is-a-file", ["train", "hydra.run.dir={cwd}/keep.txt"], "is a file, not a folder"),
    ("run-dir-below-a-file", ["train", "hydra.run.dir={cwd}/keep.txt/run"], "keep.txt is a file"),
    ("lock-is-a-folder", ["train", "resume={cwd}/lock_run"], ".lock is a folder"),
    ("last-pt-is-a-folder", ["train", "resume={cwd}/last_run"], "last.pt is a folder"),
    ("wandb-without-key", ["train", "logger=wandb"], "run wandb login, or set WANDB_MODE=offline"),
    # train resume=
    ("resume-missing", ["train", "resume={cwd}/nope"], "resume="),
    ("resume-with-sweep", ["train", "-m", "resume={cwd}/lock_run", "seed=1,2"], "cannot be combined with -m"),
    pytest.param("resume-oc-env-ckpt", ["train", "resume={given}/env_run/checkpoints/last.pt"], "config.seed",
                 marks=slow),
    pytest.param("resume-unknown-resolver-ckpt", ["train", "resume={given}/foo_run/checkpoints/last.pt"],
                 "ganlab does not resolve it", marks=slow),
    # sample
    ("sample-yaml", ["sample", "{cwd}/config.yaml"], "config.yaml is not a ganlab checkpoint"),
    ("sample-missing", ["sample", "{cwd}/nope.pt"], "nope.pt"),
    ("sample-n-0", ["sample", ANY_FILE, "--n", "0"], "--n"),
    ("sample-override-syntax", ["sample", ANY_FILE, "n=3"], "n=3"),
    pytest.param("sample-oc-env-ckpt", ["sample", "{given}/env_run/checkpoints/last.pt"], "oc.env", marks=slow),
    pytest.param("sample-unknown-resolver-ckpt", ["sample", "{given}/foo_run/checkpoints/last.pt"], "foo:bar",
                 marks=slow),
    pytest.param("sample-no-cuda", ["sample", CKPT, "--device", "cuda"], "--device cuda", marks=[slow, no_cuda]),
    # eval
    ("eval-yaml", ["eval", "{cwd}/config.yaml", "--out", "{cwd}/e.json"], "is not a ganlab checkpoint"),
    ("eval-feature-choice", ["eval", ANY_FILE, "--feature", "vgg"], "--feature"),
    pytest.param("eval-oc-env-ckpt", ["eval", "{given}/env_run/checkpoints/last.pt", "--out", "{cwd}/e.json"],
                 "ganlab does not resolve it", marks=slow),
    pytest.param("eval-unknown-metric", ["eval", CKPT, "--metrics", "nope", "--out", "{cwd}/e.json"], "--metrics nope",
                 marks=slow),
    pytest.param("eval-no-weights", ["eval", CKPT, "--metrics", "fid", "--out", "{cwd}/e.json"], "--feature random_conv",
                 marks=slow),
    pytest.param("eval-reference-test", ["eval", CKPT, "--metrics", "fid", "--feature", "random_conv", "--reference",
                                         "test", "--out", "{cwd}/e.json"], "use --reference train", marks=slow),
    pytest.param("eval-fid-option-alone", ["eval", CKPT, "--reference", "test", "--out", "{cwd}/e.json"],
                 "--metrics fid", marks=slow),
    # translate
    ("translate-yaml", ["translate", "{cwd}/config.yaml", "{cwd}/images", "{cwd}/out"], "is not a ganlab checkpoint"),
    ("translate-no-input", ["translate", ANY_FILE, "{cwd}/nope", "{cwd}/out"], "nope"),
    pytest.param("translate-noise-model", ["translate", CKPT, "{cwd}/images", "{cwd}/out"], "use `ganlab sample`",
                 marks=slow),
    # the read-only commands
    ("report-not-a-run", ["report", "{cwd}/images"], "not a run directory"),
    ("report-missing", ["report", "{cwd}/nope"], "nope"),
    ("compare-nothing", ["compare", "{cwd}/images"], "no run found"),
    ("runs-missing", ["runs", "{cwd}/nope"], "no run found"),
    # data, bench, completion, the command itself
    ("data-download-unknown", ["data", "download", "nosuch"], "nosuch"),
    ("data-prepare-unknown-data", ["data", "prepare", "data=nosuch"], "Could not find 'data/nosuch'"),
    pytest.param("data-prepare-typo-key", ["data", "prepare", "data.image_sze=32"], "did you mean data.image_size?",
                 marks=slow),
    ("bench-unknown-option", ["bench", "--nope"], "--nope"),
    ("completion-unknown-shell", ["completion", "tcsh"], "tcsh"),
    ("unknown-command", ["trian"], "did you mean `ganlab train`?"),
]


def _ids(cases):
    return [c.values[0] if hasattr(c, "values") else c[0] for c in cases]


def _listing(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


@pytest.mark.parametrize("case,args,named", CASES, ids=_ids(CASES))
def test_bad_input_is_one_line_exit_2_and_creates_nothing(request, tmp_path, case, args, named):
    given = request.getfixturevalue("given") if any("{given}" in a for a in args) else None
    home = _setup(tmp_path)
    args = [a.format(given=given, cwd=tmp_path) for a in args]
    before, given_before = _listing(tmp_path), _listing(given) if given else {}
    env = _no_wandb_key(home) if case == "wandb-without-key" else _env()
    p = subprocess.run([GANLAB, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, (p.returncode, p.stderr[-3000:])
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr[-3000:]
    assert named in lines[0], lines[0]
    assert _listing(tmp_path) == before, f"created or changed: {set(_listing(tmp_path)) ^ set(before)}"
    if given:
        assert _listing(given) == given_before


def _setup(cwd: Path) -> Path:
    """A user's file, a folder with one image, a YAML file, run directories (to resume) with a
    folder where the run writes a file; returns an empty HOME."""
    (cwd / "keep.txt").write_text("a user's file")
    (cwd / "images").mkdir()
    (cwd / "images" / "a.png").write_bytes(_png())
    (cwd / "config.yaml").write_text("model: dcgan\nseed: 0\n")
    for run, folder in (("lock_run", ".lock"), ("last_run", "checkpoints/last.pt")):
        (cwd / run / ".hydra").mkdir(parents=True)
        (cwd / run / ".hydra" / "overrides.yaml").write_text(f"{TINY!r}\n")
        (cwd / run / ".hydra" / "hydra.yaml").write_text("hydra: {overrides: {hydra: []}}\n")
        (cwd / run / folder).mkdir(parents=True)
    (cwd / "home").mkdir()
    return cwd / "home"


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image
    buf = BytesIO()
    Image.new("RGB", (16, 16), (200, 100, 50)).save(buf, format="PNG")
    return buf.getvalue()
