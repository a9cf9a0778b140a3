"""D's outputs on held-out real images next to its training images, and the d_overfit event."""

from types import SimpleNamespace

import pytest
import torch

from ganlab.callbacks.health import HealthWatch
from ganlab.errors import ConfigError
from ganlab.metrics.overfit import DOverfit


class Images:
    """A dataset of constant images: value v for every pixel."""

    def __init__(self, values):
        self.values = values

    def __len__(self):
        return len(self.values)

    def __getitem__(self, i):
        return {"x": torch.full((3, 4, 4), float(self.values[i])), "y": torch.tensor(0)}


class MemorisingD:
    """Rates an image by its pixel value: 0.9 for what it trained on (1.0), 0.4 for the rest."""

    loss = SimpleNamespace(threshold=0.5)

    def rate_real(self, batch):
        return torch.where(batch["x"].flatten(1).mean(1) == 1.0, 0.9, 0.4)


def test_gap_and_accuracies_of_a_memorising_d():
    ev = DOverfit(heldout=Images([0.0] * 10), n_images=8, batch_size=3)
    run = SimpleNamespace(algorithm=MemorisingD(), device=torch.device("cpu"), dataset=lambda s: Images([1.0] * 20))
    m = ev(run)
    assert m["val/d_real_train"] == pytest.approx(0.9) and m["val/d_real_heldout"] == pytest.approx(0.4)
    assert m["val/d_overfit_gap"] == pytest.approx(0.5)
    assert m["val/d_acc_train"] == 1.0 and m["val/d_acc_heldout"] == 0.0
    assert ev.protocol["n_train"] == ev.protocol["n_heldout"] == 8


def test_no_held_out_images_is_a_config_error():
    with pytest.raises(ConfigError, match="data.test_dataset"):
        DOverfit(heldout=None)


def test_gan_rates_real_images_without_touching_ds_buffers():
    from ganlab.algorithms.gan import GAN
    from ganlab.losses.adversarial import BCE
    from ganlab.models.dcgan import Discriminator, Generator

    torch.manual_seed(0)
    D = Discriminator(image_size=16, channels=3, width=8)
    gan = GAN(G=Generator(z_dim=8, image_size=16, channels=3, width=8), D=D, loss=BCE(), z_dim=8)
    before = {k: v.clone() for k, v in D.state_dict().items()}
    p = gan.rate_real({"x": torch.rand(6, 3, 16, 16) * 2 - 1})
    assert p.shape == (6,) and ((p > 0) & (p < 1)).all()  # probabilities, one per image
    assert all(torch.equal(before[k], v) for k, v in D.state_dict().items())


class FakeRun:
    def __init__(self):
        self.step, self.events = 0, []

    def event(self, kind, message, **extra):
        self.events.append({"step": self.step, "kind": kind, "message": message})


def _evals(gaps):
    return [{"val/d_overfit_gap": g, "val/d_real_train": 0.5 + g, "val/d_real_heldout": 0.5} for g in gaps]


def test_health_watch_flags_a_lasting_gap_once():
    run, w = FakeRun(), HealthWatch(d_overfit_gap=0.2, d_overfit_patience=2)
    for m in _evals([0.1, 0.3, 0.1, 0.3, 0.35, 0.4, 0.5]):
        run.step += 1
        w.on_eval_end(run, m)
    assert [(e["kind"], e["step"]) for e in run.events] == [("d_overfit", 5)]  # two in a row, once
    assert "held-out" in run.events[0]["message"]
    w.on_eval_end(run, {"val/fid": 3.0})  # evaluations without the gap are not judged
    assert len(run.events) == 1


@pytest.mark.parametrize("model", ["cgan", "agan"])
def test_held_out_stats_of_a_conditional_and_a_translation_model(tmp_path, model):
    from ganlab.config import compose
    from ganlab.training.loop import train
    from ganlab.training.prepare import prepare_run
    from test_augment import FAST, MODELS

    extra = [] if model == "agan" else [  # shapes has no test split: another seed holds images out
        "+data.test_dataset={_target_: ganlab.data.synthetic.Shapes, size: 16, image_size: 16, seed: 1}"]
    cfg = compose([*FAST, *MODELS[model], "metrics=d_overfit", *extra])
    s = train(prepare_run(cfg, tmp_path))
    assert s["status"] == "ok"
    m = s["metrics"]
    assert m["val/d_overfit_gap"] == pytest.approx(m["val/d_real_train"] - m["val/d_real_heldout"])
    assert 0 <= m["val/d_acc_heldout"] <= 1 and s["protocols"]["d_overfit"]["n_heldout"] > 0
