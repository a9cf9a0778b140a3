"""Embedded datasets: deterministic from (seed, index), right shapes and ranges, sensible content."""

import pytest
import torch

from ganlab.data.synthetic import Mixture2D, Shapes
from ganlab.data.toyzebra import ToyZebra


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("make", [lambda s: Shapes(size=64, seed=s), lambda s: ToyZebra(size=64, seed=s),
                                  lambda s: Mixture2D(modes="ring8", size=64, seed=s)])
def test_deterministic_from_seed_and_index_not_global_rng(make):
    torch.manual_seed(0)
    first = make(0)[5]
    torch.manual_seed(123)  # the global RNG must not matter
    assert _same(first, make(0)[5])
    assert _same(make(0)[5], make(0)[5])
    assert not _same(first, make(1)[5])
    assert not _same(first, make(0)[6])


def test_shapes_format_and_range():
    ds = Shapes(size=24, image_size=32)
    s = ds[3]
    assert s["x"].shape == (3, 32, 32) and s["x"].dtype == torch.float32
    assert s["y"].dtype == torch.int64 and s["y"].dim() == 0
    assert -1 <= s["x"].min() and s["x"].max() <= 1
    grey = Shapes(size=4, image_size=16, channels=1)[0]["x"]
    assert grey.shape == (1, 16, 16)


def test_shapes_classes_balanced_and_coloured_as_labelled():
    ds = Shapes(size=240, image_size=32)
    assert ds.num_classes == 12
    labels = torch.stack([ds[i]["y"] for i in range(len(ds))])
    assert torch.bincount(labels, minlength=12).tolist() == [20] * 12
    for i in range(24):
        x, y = ds[i]["x"], int(ds[i]["y"])
        bright = x.max(0).values > 0  # the object's pixels
        assert bright.float().mean() > 0.03  # a visible shape
        assert x[:, bright].mean(1).argmax() == y % 3  # red, green, blue


def test_shapes_differ_between_classes():
    ds = Shapes(size=12, image_size=32)
    circle, square = ds[0]["x"], ds[3]["x"]  # same colour (red), different shape
    assert not torch.allclose(circle, square)


def test_shapes_big_images_work():
    assert Shapes(size=2, image_size=64)[1]["x"].shape == (3, 64, 64)


@pytest.mark.parametrize("modes,k,std", [("ring8", 8, 0.01), ("grid25", 25, 0.05)])
def test_mixture_samples_sit_on_their_modes(modes, k, std):
    ds = Mixture2D(modes=modes, size=5000, seed=3)
    assert ds.centers.shape == (k, 2) and ds.std == std and len(ds) == 5000
    s = ds[7]
    assert s["x"].shape == (2,) and s["x"].dtype == torch.float32 and int(s["y"]) == 0
    x = ds.as_tensors()["x"]
    d = torch.cdist(x, ds.centers).min(1).values
    assert (d < 5 * std).all()  # within a few std of some center
    per_dim = x - ds.centers[torch.cdist(x, ds.centers).argmin(1)]
    assert per_dim.std().item() == pytest.approx(std, rel=0.1)
    counts = torch.bincount(torch.cdist(x, ds.centers).argmin(1), minlength=k).float()
    assert counts.min() > 0.6 * 5000 / k  # every mode populated, roughly evenly


def test_mixture_sample_independent_of_size_and_std_override():
    small, big = Mixture2D(modes="ring8", size=10), Mixture2D(modes="ring8", size=1000)
    assert torch.equal(small[9]["x"], big[9]["x"])
    assert Mixture2D(modes="grid25", size=4, std=0.2).std == 0.2
    with pytest.raises(ValueError, match="ring8 or grid25"):
        Mixture2D(modes="spiral")


def test_toyzebra_format():
    ds = ToyZebra(size=16, image_size=32)
    s = ds[2]
    assert set(s) == {"A", "B", "mask_A", "mask_B"}
    for k in ("A", "B"):
        assert s[k].shape == (3, 32, 32) and s[k].dtype == torch.float32
        assert -1 <= s[k].min() and s[k].max() <= 1
    for k in ("mask_A", "mask_B"):
        assert s[k].shape == (1, 32, 32) and s[k].dtype == torch.float32
        assert set(s[k].unique().tolist()) <= {0.0, 1.0}
    assert ToyZebra(size=2, image_size=64)[0]["A"].shape == (3, 64, 64)


def test_toyzebra_object_coverage():
    ds = ToyZebra(size=200, image_size=32)
    cover = torch.stack([ds[i]["mask_A"].mean() for i in range(200)])
    assert cover.min() > 0.07 and cover.max() < 0.4
    assert 0.12 < cover.mean() < 0.3


def test_toyzebra_masks_are_true():
    ds = ToyZebra(size=32, image_size=32)
    for i in range(16):
        s = ds[i]
        for dom in ("A", "B"):
            img, m = s[dom], s[f"mask_{dom}"][0].bool()
            # background pixels are smooth sky/grass colours: blue or green dominates red
            bg = img[:, ~m]
            assert (bg[1:].max(0).values > bg[0]).float().mean() > 0.95
        # B: black/white stripes inside (grey, high variance), smooth background outside
        b, mb = s["B"], s["mask_B"][0].bool()
        inside, outside = b[:, mb], b[:, ~mb]
        assert inside.std(0).max() < 1e-5  # stripes are achromatic
        assert inside.mean(0).var() > 0.3 and outside.mean(0).var() < 0.1
        # A: brown (red > green > blue) inside
        a_in = s["A"][:, s["mask_A"][0].bool()].mean(1)
        assert a_in[0] > a_in[1] > a_in[2]


def test_toyzebra_unpaired_and_splits():
    train = ToyZebra(size=64, seed=0, split="train")
    test = ToyZebra(size=64, seed=0, split="test")
    assert not torch.equal(train[0]["A"], test[0]["A"])
    # B is drawn by a permutation: every B image used once per pass, not aligned with A's index
    bs = {train.perm_b[i].item() for i in range(64)}
    assert bs == set(range(64)) and train.perm_b.tolist() != list(range(64))
    assert torch.equal(train[3]["B"], train.sample("B", int(train.perm_b[3]))[0])
    with pytest.raises(ValueError, match="train or test"):
        ToyZebra(split="val")
