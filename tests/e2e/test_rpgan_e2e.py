"""`ganlab train loss=r3gan` / `loss=rpgan` end to end: R3GAN's objective logs its terms and resumes
bitwise, RpGAN trains the 2D MLP GAN, and the translation models refuse it in one line."""

import torch

from conftest import checkpoint_tensors, summary

TINY = ["debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=32", "trainer.device=cpu",
        "trainer.max_steps=4", "~data.evaluators.fid_proxy"]


def test_dcgan_r3gan_logs_rpgan_r1_r2_and_resumes_bitwise(ganlab, tmp_path):
    r3gan = [*TINY, "model=dcgan", "loss=r3gan"]
    ganlab("train", *r3gan, "hydra.run.dir=straight")
    s = summary(tmp_path / "straight")
    assert s["status"] == "ok" and s["step"] == 4
    assert {"train/loss_d", "train/loss_g", "train/penalty", "train/r2"} <= set(s["metrics"])
    assert s["metrics"]["train/penalty"] > 0 and s["metrics"]["train/r2"] > 0
    ganlab("train", *r3gan, "trainer.stop_at_step=2", "hydra.run.dir=resumed", check=False)
    assert summary(tmp_path / "resumed")["step"] == 2
    ganlab("train", f"resume={tmp_path / 'resumed'}")
    a = checkpoint_tensors(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = checkpoint_tensors(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_mlp_ring8_trains_with_rpgan(ganlab, tmp_path):
    ganlab("train", "model=mlp", "data=ring8", "loss=rpgan", "model.hidden=16", "data.dataset.size=256",
           "trainer.device=cpu", "trainer.max_steps=20", "trainer.eval_every=20", "hydra.run.dir=run")
    s = summary(tmp_path / "run")
    assert s["status"] == "ok" and s["step"] == 20
    assert {"train/loss_d", "train/loss_g", "val/modes"} <= set(s["metrics"])
    assert "train/r2" not in s["metrics"]


def test_translation_models_refuse_rpgan_in_one_line_and_create_nothing(ganlab, tmp_path):
    p = ganlab("train", "model=cyclegan", "loss=rpgan", "data=toyzebra", "model.width=4", "data.image_size=16",
               "trainer.device=cpu", check=False)
    assert p.returncode == 2
    assert "model=dcgan, cgan or mlp" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "outputs").exists()
