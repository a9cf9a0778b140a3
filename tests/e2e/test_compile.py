"""trainer.compile=true: the networks' forward passes compiled (aot_eager here: the same graph
capture and AOT autograd as inductor, without C++ builds on 2 cores), gradient penalties through
the eager forward (double backward), clean checkpoint keys shared with eager runs."""

import pytest
import torch

from conftest import summary

SHAPES = ["model=dcgan", "data=shapes", "debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=32",
          "data.batch_size=8", "trainer.device=cpu", "trainer.max_steps=3", "trainer.log_every=1",
          "trainer.eval_every=0", "metrics=none"]
AGAN = ["model=agan", "data=toyzebra", "debug=fast", "model.width=8", "model.discriminator.width=8",
        "data.image_size=32", "data.dataset.size=8", "data.test_dataset.size=4", "data.batch_size=2",
        "trainer.device=cpu", "trainer.max_steps=2", "trainer.log_every=1", "trainer.eval_every=0", "metrics=none"]
COMPILED = ["trainer.compile=true", "trainer.compile_backend=aot_eager"]


@pytest.mark.parametrize("args", [[*SHAPES, "loss=bce"], [*SHAPES, "loss=wgan_gp"],
                                  [*SHAPES, "loss=bce_r1", "loss.adversarial.r1_every=2"], AGAN],
                         ids=["dcgan-bce", "dcgan-wgan_gp", "dcgan-lazy_r1", "agan"])
def test_compiled_training_matches_eager(ganlab, tmp_path, args):
    ganlab("train", *args, "hydra.run.dir=eager")
    ganlab("train", *args, *COMPILED, "hydra.run.dir=compiled")
    eager, compiled = summary(tmp_path / "eager")["metrics"], summary(tmp_path / "compiled")["metrics"]
    losses = [k for k in eager if k.startswith("train/loss")]
    assert losses and all(k in compiled for k in losses)
    for k in losses:  # the same math, fused differently: equal to float32 rounding
        assert compiled[k] == pytest.approx(eager[k], rel=1e-4, abs=1e-5), k
    state = torch.load(tmp_path / "compiled" / "checkpoints" / "last.pt", weights_only=True)
    assert not [k for m in state["modules"].values() for k in m if "_orig_mod" in k]


def test_an_eager_run_resumes_a_compiled_checkpoint(ganlab, tmp_path):
    ganlab("train", *SHAPES, "loss=wgan_gp", *COMPILED, "hydra.run.dir=run")
    ganlab("train", f"resume={tmp_path / 'run'}", "trainer.compile=false", "trainer.max_steps=5")
    assert summary(tmp_path / "run")["step"] == 5
