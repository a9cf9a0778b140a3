"""trainer.compile=true: the networks' forward passes compiled (aot_eager here: the same graph
capture and AOT autograd as inductor, without C++ builds on 2 cores), gradient penalties through
the eager forward (double backward), clean checkpoint keys shared with eager runs."""

import shutil
from pathlib import Path

import pytest
import torch

from conftest import run_ganlab, summary

SHAPES = ["model=dcgan", "data=shapes", "debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=32",
          "data.batch_size=8", "trainer.device=cpu", "trainer.max_steps=3", "trainer.log_every=1",
          "trainer.eval_every=0", "metrics=none"]
AGAN = ["model=agan", "data=toyzebra", "debug=fast", "model.width=8", "model.discriminator.width=8",
        "data.image_size=32", "data.dataset.size=8", "data.test_dataset.size=4", "data.batch_size=2",
        "trainer.device=cpu", "trainer.max_steps=2", "trainer.log_every=1", "trainer.eval_every=0", "metrics=none"]
COMPILED = ["trainer.compile=true", "trainer.compile_backend=aot_eager"]


CASES = {"dcgan-bce": [*SHAPES, "loss=bce"], "dcgan-wgan_gp": [*SHAPES, "loss=wgan_gp"],
         "dcgan-lazy_r1": [*SHAPES, "loss=bce_r1", "loss.adversarial.r1_every=2"], "agan": AGAN}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Each case's eager and compiled runs, trained once for the module: `trained(id)` is their
    folder (`eager`, `compiled`). The resume test resumes a copy of dcgan-wgan_gp's compiled run."""
    done = {}

    def pair(case: str) -> Path:
        if case not in done:
            root = tmp_path_factory.mktemp(case)
            run_ganlab("train", *CASES[case], "hydra.run.dir=eager", cwd=root)
            run_ganlab("train", *CASES[case], *COMPILED, "hydra.run.dir=compiled", cwd=root)
            done[case] = root
        return done[case]
    return pair


@pytest.mark.parametrize("case", CASES)
def test_compiled_training_matches_eager(trained, case):
    root = trained(case)
    eager, compiled = summary(root / "eager")["metrics"], summary(root / "compiled")["metrics"]
    losses = [k for k in eager if k.startswith("train/loss")]
    assert losses and all(k in compiled for k in losses)
    for k in losses:  # the same math, fused differently: equal to float32 rounding
        assert compiled[k] == pytest.approx(eager[k], rel=1e-4, abs=1e-5), k
    state = torch.load(root / "compiled" / "checkpoints" / "last.pt", weights_only=True)
    assert not [k for m in state["modules"].values() for k in m if "_orig_mod" in k]


def test_an_eager_run_resumes_a_compiled_checkpoint(ganlab, trained, tmp_path):
    run = shutil.copytree(trained("dcgan-wgan_gp") / "compiled", tmp_path / "run", symlinks=True)
    assert summary(run)["step"] == 3 and "trainer.compile=true" in (run / ".hydra" / "overrides.yaml").read_text()
    ganlab("train", f"resume={run}", "trainer.compile=false", "trainer.max_steps=5")
    assert summary(run)["step"] == 5
