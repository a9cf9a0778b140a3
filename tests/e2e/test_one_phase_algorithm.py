"""An algorithm defined only here, plus one YAML in a user config folder, trains through the
unchanged loop and run: one phase, its own optimizer, checkpoints, bitwise resume, callbacks and
`ganlab compare` — what a VAE, flow-matching or DDPM baseline needs."""

import os
from pathlib import Path

import torch.nn.functional as F
from torch import nn

from conftest import checkpoint_tensors, run_ganlab, summary
from ganlab.algorithms.base import Phase

HERE = Path(__file__).resolve().parent


class TinyAutoencoder(nn.Module):
    """Images through a 4x narrower bottleneck and back."""

    def __init__(self, *, channels: int = 3, width: int = 4):
        super().__init__()
        self.enc = nn.Conv2d(channels, width, 4, stride=2, padding=1)
        self.dec = nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1)

    def forward(self, x):
        return self.dec(F.relu(self.enc(x)))


class Reconstruction:
    """One phase ("model"), one optimizer (schedule.optimizer.model): minimise the L2 error."""

    def __init__(self, *, net: nn.Module):
        self.net = net

    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net}

    def phases(self) -> list[Phase]:
        return [Phase("model", self.step, (self.net,))]

    def step(self, batch, ctx):
        loss = F.mse_loss(self.net(batch["x"]), batch["x"])
        return {"loss": loss, "train/loss_rec": loss.detach()}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


MODEL_YAML = """name: tiny_ae
networks:
  net:
    _target_: test_one_phase_algorithm.TinyAutoencoder
    channels: ${data.channels}
algorithm:
  _target_: test_one_phase_algorithm.Reconstruction
"""


def test_a_one_phase_algorithm_trains_resumes_bitwise_and_compares(tmp_path):
    conf = tmp_path / "myconf"
    (conf / "model").mkdir(parents=True)
    (conf / "model" / "tiny_ae.yaml").write_text(MODEL_YAML)
    env = {"PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]),
           "GANLAB_TRUSTED_TARGETS": "test_one_phase_algorithm."}
    args = ["model=tiny_ae", f"hydra.searchpath=[file://{conf}]", "data.image_size=16", "data.dataset.size=64",
            "data.batch_size=8", "trainer.device=cpu", "trainer.max_steps=8", "trainer.log_every=1",
            "~data.evaluators", "+schedule.optimizer.model={_target_:torch.optim.Adam,_partial_:true,lr:0.01}",
            "callbacks.checkpoint.monitor=train/loss_rec", "callbacks.checkpoint.mode=min"]
    old = dict(os.environ)
    os.environ.update(env)
    try:
        run_ganlab("train", *args, "hydra.run.dir=straight", cwd=tmp_path)
        run_ganlab("train", *args, "trainer.stop_at_step=3", "hydra.run.dir=resumed", cwd=tmp_path, check=False)
        assert summary(tmp_path / "resumed")["status"] == "interrupted"
        run_ganlab("train", "resume=resumed", cwd=tmp_path)
        table = run_ganlab("compare", "straight", "resumed", cwd=tmp_path).stdout
    finally:
        os.environ.clear()
        os.environ.update(old)
    s = summary(tmp_path / "straight")
    assert s["status"] == "ok" and s["step"] == 8 and s["best"]["monitor"] == "train/loss_rec"
    assert s["metrics"]["train/loss_rec"] < 0.5 and "train/grad_norm_model" in s["metrics"]
    a = checkpoint_tensors(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = checkpoint_tensors(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert a.keys() == b.keys() and any(k.startswith("optimizers.model") for k in a)
    assert all((a[k] == b[k]).all() for k in a)
    assert "straight" in table and "resumed" in table
