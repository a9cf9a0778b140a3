"""Precision, recall, density, coverage on known answers; clean/legacy resize; protocol records."""

import pytest
import torch
from torch import nn

from ganlab.metrics.errors import MetricsError
from ganlab.metrics.fid import FIDKID, clean_resize
from ganlab.metrics.prdc import prdc


def _modes(n_per_mode: int, modes: list[int], seed: int) -> torch.Tensor:
    """Tight clusters around well separated centres (10 apart, std 0.1) in 8 dimensions."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(8)[: max(modes) + 1] * 10
    return torch.cat([centres[m] + 0.1 * torch.randn(n_per_mode, 8, generator=g) for m in modes])


def test_identical_sets_score_one_everywhere():
    x = torch.randn(200, 16, generator=torch.Generator().manual_seed(0))
    assert prdc(x, x.clone(), k=5) == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_disjoint_sets_score_zero_everywhere():
    real, fake = _modes(100, [0, 1], seed=0), _modes(100, [2, 3], seed=1)
    assert prdc(real, fake, k=5) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_a_set_covering_half_of_the_modes_is_precise_but_covers_half():
    real = _modes(100, [0, 1, 2, 3], seed=0)
    half = prdc(real, _modes(100, [0, 1], seed=1), k=5)  # collapsed onto two of four modes, each faithful
    full = prdc(real, _modes(50, [0, 1, 2, 3], seed=1), k=5)  # as many samples, every mode
    # k-NN balls of 400 samples in 8 dimensions miss a few fresh samples of the same clusters: a
    # faithful set scores ~0.9, not 1, on precision and recall; collapse halves recall and coverage only
    assert half["precision"] >= 0.85 and abs(half["precision"] - full["precision"]) <= 0.05
    assert half["density"] >= 0.85 and abs(half["density"] - full["density"]) <= 0.05
    assert full["recall"] >= 0.85 and full["coverage"] >= 0.8
    assert 0.4 <= half["recall"] <= 0.5 and 0.4 <= half["coverage"] <= 0.5  # at most the 2 modes of 4


def test_matches_the_authors_prdc_package_on_random_features():
    ref = pytest.importorskip("prdc")
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(300, 10, generator=g), 1.3 * torch.randn(250, 10, generator=g) + 0.4
    ours, theirs = prdc(real, fake, k=5), ref.compute_prdc(real.numpy(), fake.numpy(), nearest_k=5)
    for key in ours:
        assert ours[key] == pytest.approx(float(theirs[key]), abs=1e-6), key


def test_precision_recall_equal_torch_fidelitys():
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    g = torch.Generator().manual_seed(5)
    real, fake = torch.randn(300, 10, generator=g), 1.3 * torch.randn(250, 10, generator=g) + 0.4
    precision, recall = calculate_precision_recall_full(fake.double(), real.double(), neighborhood=5)
    ours = prdc(real, fake, k=5)
    assert (ours["precision"], ours["recall"]) == (precision, recall) and 0 < precision < 1 and 0 < recall < 1


def test_too_few_samples_is_a_metrics_error():
    with pytest.raises(MetricsError, match="k=5"):
        prdc(torch.randn(5, 3), torch.randn(50, 3), k=5)


class Recorder(nn.Module):
    """An extractor with an input size that records what it is given: the mean of each image."""

    num_features, extractor_name, input_size = 1, "recorder", 24

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x)
        return x.float().mean((1, 2, 3))[:, None]


def test_clean_resize_quantises_then_resizes_to_the_extractors_input_size():
    imgs = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    legacy, clean = Recorder(), Recorder()
    FIDKID(feature=legacy, kid_subset_size=2).update_real(imgs)
    FIDKID(feature=clean, kid_subset_size=2, resize="clean").update_real(imgs)
    assert legacy.seen[0].shape[-1] == 16 and clean.seen[0].shape[-1] == 24
    q = clean_resize((imgs + 1) / 2, None)  # no size: the uint8 quantisation alone
    assert torch.equal(q * 255, (q * 255).round()) and (q - (imgs + 1) / 2).abs().max() <= 0.5 / 255 + 1e-6
    with pytest.raises(MetricsError, match="resize='bilinear'"):
        FIDKID(feature=Recorder(), resize="bilinear")


def test_evaluator_records_prdc_and_resize_in_its_protocol_and_caches_apart(tmp_path):
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from ganlab.data.synthetic import Shapes
    from ganlab.metrics.evaluators import FIDKIDEvaluator
    from ganlab.metrics.features import RandomConvFeatures

    data = Shapes(size=64, image_size=16, channels=3, seed=0)

    class Algo:  # a "generator" that returns training images: close to the data, as a known case
        def generate(self, n, *, device, seed=0):
            return torch.stack([data[(seed + i) % 64]["x"] for i in range(n)])

    run = SimpleNamespace(algorithm=Algo(), device=torch.device("cpu"), step=1,
                          cfg=OmegaConf.create({"data": {"name": "shapes", "image_size": 16}}),
                          dataset=lambda split: data)
    out = {}
    for resize in ("legacy", "clean"):
        ev = FIDKIDEvaluator(feature=RandomConvFeatures(dims=16), n_samples=64, kid_subset_size=32,
                             kid_subsets=5, cache_dir=str(tmp_path), batch_size=32, resize=resize)
        out[resize] = ev(run)
        assert ev.protocol["resize"] == resize and ev.protocol["prdc"]["k"] == 5
        assert ev.protocol["prdc"]["n_real"] == 64
    m = out["legacy"]
    assert {"val/precision_random_conv", "val/recall_random_conv", "val/density_random_conv",
            "val/coverage_random_conv"} <= set(m)
    assert m["val/precision_random_conv"] == m["val/recall_random_conv"] == 1.0  # the same images
    assert sorted(p.name.rsplit("_", 1)[0] for p in tmp_path.glob("fidref_*.pt")) == [  # _<dataset config digest>.pt
        "fidref_shapes_train_x_random_conv_16px_64", "fidref_shapes_train_x_random_conv_clean_16px_64"]


def test_reference_test_scores_against_held_out_images_and_caches_per_dataset_config(tmp_path):
    """reference=test reads data.test_dataset; two datasets of one name (other seeds) never share
    cached reference statistics; reference=test without a test split is a one-line config error."""
    from types import SimpleNamespace

    import pytest
    from omegaconf import OmegaConf

    from ganlab.data.synthetic import Shapes
    from ganlab.errors import ConfigError
    from ganlab.metrics.evaluators import FIDKIDEvaluator
    from ganlab.metrics.features import RandomConvFeatures

    node = {"_target_": "ganlab.data.synthetic.Shapes", "size": 64, "image_size": 16, "channels": 3}
    splits = {"train": Shapes(size=64, image_size=16, seed=0), "test": Shapes(size=64, image_size=16, seed=1)}

    class Algo:  # "generates" the training images: near-perfect against train, not against test
        def generate(self, n, *, device, seed=0):
            return torch.stack([splits["train"][i % 64]["x"] for i in range(n)])

    def score(reference, test_seed=1):
        cfg = {"data": {"name": "shapes", "image_size": 16, "dataset": node | {"seed": 0},
                        "test_dataset": node | {"seed": test_seed}}}
        run = SimpleNamespace(algorithm=Algo(), device=torch.device("cpu"), step=1, cfg=OmegaConf.create(cfg),
                              dataset=lambda split: splits[split])
        ev = FIDKIDEvaluator(feature=RandomConvFeatures(dims=16), n_samples=64, kid_subset_size=32, kid_subsets=5,
                             cache_dir=str(tmp_path), batch_size=32, reference=reference, prdc_k=0)
        return ev(run)["val/fid_random_conv"], ev.protocol["reference_split"]

    (fid_train, split_train), (fid_test, split_test) = score("train"), score("test")
    assert split_train == "shapes/train/x" and split_test == "shapes/test/x"
    assert fid_train < 1e-3 < fid_test  # copies of the training images: only the held-out reference sees it
    assert len(list(tmp_path.glob("fidref_shapes_test_*.pt"))) == 1
    score("test", test_seed=2)  # another held-out set: its own statistics, not the cached seed-1 ones
    assert len(list(tmp_path.glob("fidref_shapes_test_*.pt"))) == 2
    with pytest.raises(ConfigError, match="reference"):
        FIDKIDEvaluator(feature=RandomConvFeatures(dims=16), reference="heldout")
    run = SimpleNamespace(algorithm=Algo(), device=torch.device("cpu"), step=1, dataset=lambda split: None,
                          cfg=OmegaConf.create({"data": {"name": "shapes", "image_size": 16, "test_dataset": None}}))
    with pytest.raises(ConfigError, match="data.test_dataset"):
        FIDKIDEvaluator(feature=RandomConvFeatures(dims=16), n_samples=64, cache_dir=str(tmp_path),
                        reference="test", prdc_k=0)(run)
