"""The augment group: DiffAugment's ops, ADA's p, and every augment x every image model training."""

import pytest
import torch

from ganlab.algorithms.augment import AdaptiveAugment, DiffAugment, NoAugment, color, cutout, translation
from ganlab.config import compose
from ganlab.errors import ConfigError
from ganlab.training.loop import train
from ganlab.training.prepare import prepare_run


def test_translation_moves_pixels_by_whole_steps_and_pads_with_zeros():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 8, 8)
    x[:, :, 4, 4] = 1.0
    out = translation(x, ratio=0.25)  # shifts in [-2, 2]
    assert out.shape == x.shape
    assert torch.equal(out.sum((1, 2, 3)), torch.ones(64))  # the dot moved, whole, somewhere
    ys, xs = (out[:, 0] == 1).nonzero()[:, 1], (out[:, 0] == 1).nonzero()[:, 2]
    assert ys.min() >= 2 and ys.max() <= 6 and xs.min() >= 2 and xs.max() <= 6
    assert len(set(zip(ys.tolist(), xs.tolist()))) > 10  # per-sample shifts
    full = translation(torch.ones(64, 1, 8, 8), ratio=0.25)
    assert (full == 0).any() and set(full.unique().tolist()) <= {0.0, 1.0}  # zeros come in at the edge


def test_cutout_zeroes_a_square_of_a_quarter_of_the_image():
    torch.manual_seed(0)
    out = cutout(torch.ones(256, 3, 16, 16), ratio=0.5)
    zeroed = (out[:, 0] == 0).float().sum((1, 2))
    assert zeroed.max() == 64 and zeroed.min() >= 16  # an 8x8 square, partly off the edge at worst
    assert torch.equal(out[:, 0], out[:, 2])  # the same square on every channel


def test_color_changes_images_per_sample_and_keeps_gradients():
    torch.manual_seed(0)
    x = torch.rand(8, 3, 4, 4, requires_grad=True)
    out = color(x)
    assert out.shape == x.shape and not torch.allclose(out[0] - x[0], out[1] - x[1])
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_diffaugment_is_differentiable_and_p_gates_each_image():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 8, 8, requires_grad=True)
    DiffAugment()(x).square().sum().backward()
    assert x.grad.abs().sum() > 0
    y = torch.rand(200, 3, 8, 8)
    assert torch.equal(DiffAugment(p=0.0)(y), y)
    part = DiffAugment(policy=["cutout"], p=0.5)(y)
    changed = (part != y).flatten(1).any(1).float().mean()
    assert 0.35 < changed < 0.65
    with pytest.raises(ConfigError, match="policy"):
        DiffAugment(policy=["rotate"])
    with pytest.raises(ConfigError, match="images"):
        DiffAugment()(torch.rand(4, 2))  # 2D points: a clear error, not a crash in an op


def test_no_augment_is_the_identity_and_draws_no_random_numbers():
    x = torch.rand(4, 3, 8, 8)
    state = torch.get_rng_state()
    assert NoAugment()(x) is x
    assert torch.equal(torch.get_rng_state(), state)


def _ada_steps(ada, sign: float, steps: int, b: int = 10):
    for _ in range(steps):
        ada.observe(torch.full((b,), sign))
        ada.end_d_step()


def test_ada_p_follows_the_overfitting_heuristic_within_bounds():
    ada = AdaptiveAugment(target=0.6, interval=2, adjust_images=100, p_max=0.5)
    _ada_steps(ada, +1.0, 2)  # r_t = 1 > 0.6: D is too sure of the reals -> p up by 20 images / 100
    assert ada.rt == 1.0 and ada.p == pytest.approx(0.2)
    _ada_steps(ada, +1.0, 1)  # mid-interval: no change yet
    assert ada.p == pytest.approx(0.2)
    _ada_steps(ada, +1.0, 20)
    assert ada.p == 0.5  # bounded by p_max
    _ada_steps(ada, -1.0, 40)
    assert ada.rt == -1.0 and ada.p == 0.0  # and by 0
    stats = ada.stats()
    assert set(stats) == {"train/ada_p", "train/ada_rt"}
    with pytest.raises(ConfigError, match="p_max"):
        AdaptiveAugment(p_max=1.0)


def test_ada_state_round_trips_mid_interval():
    a = AdaptiveAugment(interval=4, adjust_images=50)
    _ada_steps(a, +1.0, 6)
    b = AdaptiveAugment(interval=4, adjust_images=50)
    b.load_state_dict(a.state_dict())
    _ada_steps(a, -1.0, 2)
    _ada_steps(b, -1.0, 2)
    assert a.p == b.p and a.rt == b.rt and a.steps == b.steps == 8


FAST = ["trainer.max_steps=2", "trainer.log_every=1", "trainer.eval_every=2", "trainer.device=cpu", "~logger",
        "~callbacks", "metrics=none"]
MODELS = {
    "dcgan": ["model=dcgan", "model.width=8", "data.image_size=16", "data.dataset.size=32", "data.batch_size=8",
              "~data.evaluators.fid_proxy"],
    "cgan": ["model=cgan", "model.width=8", "data.image_size=16", "data.dataset.size=32", "data.batch_size=8",
             "~data.evaluators.fid_proxy"],
    "agan": ["model=agan", "data=toyzebra", "model.width=8", "model.discriminator.width=8", "data.image_size=32",
             "data.dataset.size=8", "data.test_dataset.size=4", "data.batch_size=2", "~data.evaluators.masks"],
    "cyclegan": ["model=cyclegan", "data=toyzebra", "model.width=8", "model.discriminator.width=8",
                 "model.generator.n_blocks=1", "data.image_size=32", "data.dataset.size=8",
                 "data.test_dataset.size=4", "data.batch_size=2", "~data.evaluators.masks"],
}


@pytest.mark.parametrize("augment", ["none", "diffaug", "ada"])
@pytest.mark.parametrize("model", list(MODELS))
def test_every_augment_trains_every_image_model(tmp_path, model, augment):
    extra = ["augment.interval=1", "augment.adjust_images=1"] if augment == "ada" else []
    cfg = compose(FAST + MODELS[model] + [f"augment={augment}", "loss.lecam.weight=0.1", *extra])
    s = train(prepare_run(cfg, tmp_path))
    assert s["status"] == "ok" and s["step"] == 2
    m = s["metrics"]
    assert ("train/ada_p" in m) == (augment == "ada")
    if augment == "ada":  # one interval of D outputs has moved p (up or down from 0: 0 if r_t < target)
        assert m["train/ada_p"] >= 0 and -1 <= m["train/ada_rt"] <= 1
    assert any(k.startswith("train/lecam") for k in m)


def test_a_run_written_before_augment_and_lecam_existed_resumes_with_them_off():
    import copy

    from omegaconf import OmegaConf

    from ganlab.training.resume import changed_keys

    def composed(*ov):
        return OmegaConf.to_container(compose(["trainer.device=cpu", *ov]), resolve=True)

    new = composed()
    old = copy.deepcopy(new)  # the config such a run saved: no augment, no loss.lecam
    for node, key in ((old, "augment"), (old["loss"], "lecam"), (old["model"]["algorithm"], "augment"),
                      (old["model"]["algorithm"], "lecam")):
        del node[key]
    assert changed_keys(old, new) == []
    for ov, key in (("augment=ada", "augment._target_"), ("loss.lecam.weight=0.3", "loss.lecam")):
        with pytest.raises(ConfigError, match=key):  # turning them on is a change of the run
            changed_keys(old, composed(ov))
