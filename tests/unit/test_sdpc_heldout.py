"""metrics/sparse_coding.py scores a sparse coder on images its dictionaries never trained on:
data.test_dataset when there is one, else the training generator with another seed (shapes);
the coder is model=sdpc's algorithm or a GAN network with an SDPC front end (sdpc_gan_d's D).
And a pre-trained front end (models/sdpc.load_dictionaries) refuses a checkpoint that is not a
fitting model=sdpc one; a frozen one (sdpc_frozen) gives its atoms no gradient."""

import math

import pytest
import torch
from omegaconf import OmegaConf

from ganlab.algorithms.sdpc import SparseCoding
from ganlab.data.synthetic import Shapes
from ganlab.errors import ConfigError
from ganlab.metrics.sparse_coding import SparseCodingEvaluator
from ganlab.models.sdpc import SDPC, load_dictionaries
from ganlab.models.sdpc_gan import SparseCodeDiscriminator

LAYERS = [{"atoms": 8, "size": 5, "stride": 2, "sparsity": 0.02, "feedback": 0.5},
          {"atoms": 16, "size": 3, "stride": 2, "sparsity": 0.02}]


class FakeRun:
    """The EvalContext an evaluator sees: shapes at 16 px, no test split unless given one."""

    def __init__(self, algorithm, test=None):
        self.algorithm, self.device, self.step = algorithm, torch.device("cpu"), 1
        self.cfg = OmegaConf.create({"data": {"name": "shapes", "dataset": {
            "_target_": "ganlab.data.synthetic.Shapes", "size": 64, "image_size": 16, "channels": 3, "seed": 0}}})
        self.train, self.test = Shapes(size=64, image_size=16, channels=3, seed=0), test

    def dataset(self, split):
        return self.train if split == "train" else self.test


class Recording:
    """A coder that keeps the images it was asked to score."""

    def __init__(self, net):
        self.net, self.seen = net, []

    def code_stats(self, x):
        self.seen.append(x)
        return self.net.code_stats(x)

    def modules(self):
        return {"net": self.net}


def _images(data, n):
    return torch.stack([data[i]["x"] for i in range(n)])


def test_shapes_are_scored_on_another_seed_of_the_generator_not_on_the_training_images():
    coder = Recording(SDPC(channels=3, image_size=16, layers=LAYERS, n_iter=5))
    run, ev = FakeRun(coder), SparseCodingEvaluator(n_samples=12, batch_size=8)
    out = ev(run)
    data, split, heldout = ev.heldout(run)
    assert isinstance(data, Shapes) and data.seed == 1 and heldout and "held-out" in split
    seen = torch.cat(coder.seen)
    assert seen.shape[0] == 12 and torch.equal(seen, _images(data, 12))      # the held-out images were scored
    train = _images(run.train, 64)
    gap = (seen[:, None] - train[None]).abs().flatten(2).amax(2)             # (scored, training): max pixel diff
    assert gap.min() > 0.1                                                   # none of them is a training image
    assert math.isfinite(out["val/sdpc_recon_mse"]) and out["val/sdpc_recon_mse"] > 0
    assert {"val/sdpc_sparsity_l1", "val/sdpc_sparsity_l2"} <= out.keys()
    assert ev.protocol["heldout"] is True and ev.protocol["split"] == split and ev.protocol["samples"] == 12
    other = SparseCodingEvaluator(n_samples=4, heldout_seed=7)
    assert other.heldout(run)[0].seed == 7


def test_a_test_split_is_used_when_the_data_has_one():
    test = Shapes(size=8, image_size=16, channels=3, seed=5)
    coder = Recording(SDPC(channels=3, image_size=16, layers=LAYERS, n_iter=3))
    ev = SparseCodingEvaluator(n_samples=8)
    ev(FakeRun(coder, test=test))
    assert torch.equal(torch.cat(coder.seen), _images(test, 8)) and "data.test_dataset" in ev.protocol["split"]


def test_a_gan_is_scored_through_its_discriminators_front_end_and_sdpc_through_its_algorithm():
    sdpc = SDPC(channels=3, image_size=16, layers=LAYERS, n_iter=3)
    D = SparseCodeDiscriminator(sdpc=sdpc, image_size=16, channels=3, width=4, n_iter=3)

    class GAN:  # an algorithm without code_stats of its own: its D has them
        def modules(self):
            return {"G": torch.nn.Linear(2, 2), "D": D}

    gan = SparseCodingEvaluator(n_samples=8)(FakeRun(GAN()))
    coder = SparseCodingEvaluator(n_samples=8)(FakeRun(SparseCoding(net=sdpc)))
    assert gan == coder and gan["val/sdpc_recon_mse"] > 0   # the same front end, the same images
    none = SparseCodingEvaluator(n_samples=8)
    assert none(FakeRun(type("Plain", (), {"modules": lambda self: {"G": torch.nn.Linear(2, 2)}})())) == {}


def test_a_frozen_front_end_gives_its_atoms_no_gradient():
    sdpc = SDPC(channels=3, image_size=16, layers=LAYERS, n_iter=3)
    SparseCodeDiscriminator(sdpc=sdpc, image_size=16, channels=3, width=4, n_iter=3, sdpc_frozen=True)
    x, _ = sdpc.split_mean(_images(Shapes(size=4, image_size=16, channels=3), 4))
    loss, _ = sdpc.dictionary_loss(x, sdpc.infer(x)[0])
    assert not loss.requires_grad and loss > 0   # the reconstruction is still measured, nothing learns from it


def _checkpoint(path, net, model="sdpc", **sdpc):
    """A file shaped as a model=sdpc run's checkpoint (config + modules.net)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    layers = [{"atoms": w.shape[0], "size": w.shape[-1], "stride": s} for w, s in zip(net.dicts, net.strides)]
    torch.save({"step": 2, "config": {"model": {"name": model, "sdpc": {"layers": layers, "whiten": net.whiten,
                                                                        "centre": net.centre, **sdpc}}},
                "modules": {"net": net.state_dict()}}, path)
    return path


def test_dictionaries_load_from_a_run_dir_and_bad_checkpoints_name_the_key_and_the_file(tmp_path):
    key = "model.discriminator.sdpc_checkpoint"
    trained = SDPC(channels=3, image_size=16, layers=LAYERS)
    with torch.no_grad():
        for w in trained.dicts:
            w.mul_(-1)   # not the fresh init
    _checkpoint(tmp_path / "run" / "checkpoints" / "last.pt", trained)
    net = SDPC(channels=3, image_size=16, layers=LAYERS)
    assert load_dictionaries(net, str(tmp_path / "run"), key=key).name == "last.pt"
    assert all(torch.equal(a, b) for a, b in zip(net.dicts, trained.dicts))
    other = SDPC(channels=3, image_size=16, layers=[dict(LAYERS[0], atoms=4), LAYERS[1]])
    cases = {"no such file": str(tmp_path / "missing.pt"),
             "not a ganlab checkpoint": str((tmp_path / "notes.txt").resolve()),
             "model=dcgan": str(_checkpoint(tmp_path / "gan.pt", trained, model="dcgan")),
             "atoms (out, in, k, k)": str(_checkpoint(tmp_path / "small.pt", other)),
             "whiten 1.5 vs 0.0": str(_checkpoint(tmp_path / "white.pt", trained, whiten=1.5))}
    (tmp_path / "notes.txt").write_text("not torch")
    for why, path in cases.items():
        with pytest.raises(ConfigError) as e:
            load_dictionaries(SDPC(channels=3, image_size=16, layers=LAYERS), path, key=key)
        assert why in str(e.value) and f"{key}={path}" in str(e.value) and "\n" not in str(e.value), why


def test_bench_sdpc_tabulates_the_front_ends_held_out_error_where_a_run_has_one():
    from ganlab.commands.bench_sdpc import summarize

    def run(mse=None):
        metrics = {"val/fid_random_conv": 0.2, **({"val/sdpc_recon_mse": mse} if mse else {})}
        return {"metrics": metrics, "best": {"monitor": "val/fid_random_conv"}, "timings": {"wall_time_s": 1.0}}

    row = summarize([run(2e-4), run(4e-4)])
    assert row["held-out sdpc mse"][0] == pytest.approx(3e-4) and row["metrics"]["held-out sdpc mse"] == "val/sdpc_recon_mse"
    assert "held-out sdpc mse" not in summarize([run()])   # DCGAN: no front end, no column
