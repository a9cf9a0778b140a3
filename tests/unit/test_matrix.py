"""Every model x loss (and every translation generator x discriminator) composes from the real
config groups and trains 2 steps."""

import pytest

from ganlab.config import compose
from ganlab.training.loop import train
from ganlab.training.prepare import prepare_run

LOSSES = ["bce", "bce_r1", "lsgan", "hinge", "wgan", "wgan_gp", "rpgan", "r3gan"]
FAST = ["trainer.max_steps=2", "trainer.log_every=1", "trainer.eval_every=2", "data.batch_size=8", "trainer.device=cpu", "~logger", "~callbacks",
        "metrics=none"]


def _train(tmp_path, overrides):
    s = train(prepare_run(compose(FAST + overrides), tmp_path))
    assert s["status"] == "ok" and s["step"] == 2
    return s


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_image_models_train_with_every_loss(tmp_path, model, loss):
    s = _train(tmp_path, [f"model={model}", f"loss={loss}", "model.width=8", "data.image_size=16",
                          "data.dataset.size=32", "~data.evaluators.fid_proxy"])
    assert "train/loss_d" in s["metrics"]


@pytest.mark.parametrize("loss", LOSSES)
def test_mlp_trains_with_every_loss(tmp_path, loss):
    s = _train(tmp_path, ["model=mlp", "data=ring8", f"loss={loss}", "model.hidden=16",
                          "data.dataset.size=256", "~data.evaluators.modes"])
    assert "train/d_real" in s["metrics"]


@pytest.mark.parametrize("disc", ["patchgan", "unet"])
@pytest.mark.parametrize("model", ["agan", "cyclegan"])
def test_translation_generators_train_with_every_discriminator(tmp_path, model, disc):
    extra = ["model.generator.n_blocks=1"] if model == "cyclegan" else []
    s = _train(tmp_path, [f"model={model}", f"model/discriminator={disc}", "data=toyzebra", "model.width=8",
                          "model.discriminator.width=8", "data.image_size=32", "data.dataset.size=16",
                          "data.test_dataset.size=8", "data.batch_size=2", "model.algorithm.lambda_identity=0.5", *extra])
    assert {"train/loss_cycle", "train/loss_identity", "train/d_real_a", "train/d_fake_b"} <= set(s["metrics"])
    assert "val/mask_iou" in s["metrics"] or model == "cyclegan"


def test_unet_discriminator_cutmix_and_dcgan_with_patchgan(tmp_path):
    _train(tmp_path / "a", ["model=agan", "model/discriminator=unet", "model.algorithm.cutmix_prob=1.0",
                            "data=toyzebra", "model.width=8", "model.discriminator.width=8", "data.image_size=16",
                            "data.dataset.size=16", "data.test_dataset.size=8", "data.batch_size=2"])
    _train(tmp_path / "c", ["model=dcgan", "model/discriminator=unet", "model.algorithm.cutmix_prob=1.0",
                            "model.width=8", "model.discriminator.width=8", "data.image_size=16",
                            "data.dataset.size=32", "~data.evaluators.fid_proxy"])  # the noise GAN uses it too
    _train(tmp_path / "b", ["model=dcgan", "model/discriminator=patchgan", "model.width=8",
                            "model.discriminator.width=8", "data.image_size=32", "data.dataset.size=32",
                            "~data.evaluators.fid_proxy"])
