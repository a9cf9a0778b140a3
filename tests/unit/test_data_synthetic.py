"""Embedded datasets: deterministic from (seed, index), right shapes and ranges, sensible content."""

import math

import pytest
import torch

from ganlab.data.synthetic import Mixture2D, Shapes
from ganlab.data.toyzebra import ToyZebra
from ganlab.metrics.masks import stripedness_per_image


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
    assert len(ds) == 24
    s = ds[3]
    assert set(s) == {"x", "y"}
    assert s["x"].shape == (3, 32, 32) and s["x"].dtype == torch.float32
    assert s["y"].dtype == torch.int64 and s["y"].dim() == 0
    xs = torch.stack([ds[i]["x"] for i in range(len(ds))])
    assert -1 <= xs.min() and xs.max() <= 1
    assert xs.max() - xs.min() > 1  # a coloured shape on a dark background, not a flat image
    grey = Shapes(size=4, image_size=16, channels=1)[0]["x"]
    assert grey.shape == (1, 16, 16)
    with pytest.raises(IndexError):
        ds[24]


def test_shapes_labels_by_index_images_by_seed_and_independent_of_size():
    a, c = Shapes(size=8, image_size=16, seed=0), Shapes(size=8, image_size=16, seed=1)
    assert int(a[3]["y"]) == int(c[3]["y"]) and not torch.equal(a[3]["x"], c[3]["x"])
    assert torch.equal(Shapes(size=100, image_size=16, seed=0)[3]["x"], a[3]["x"])


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
    assert set(s) == {"x", "y"}
    assert s["x"].shape == (2,) and s["x"].dtype == torch.float32 and int(s["y"]) == 0
    x = ds.as_tensors()["x"]
    assert x.shape == (5000, 2)
    d = torch.cdist(x, ds.centers).min(1).values
    assert (d < 5 * std).all()  # within a few std of some center
    per_dim = x - ds.centers[torch.cdist(x, ds.centers).argmin(1)]
    assert per_dim.std().item() == pytest.approx(std, rel=0.1)
    counts = torch.bincount(torch.cdist(x, ds.centers).argmin(1), minlength=k).float()
    assert counts.min() > 0.6 * 5000 / k  # every mode populated, roughly evenly


def test_mixture_centers():
    angles = torch.arange(8) * 2 * math.pi / 8  # ring8: unit circle, 45 degrees apart
    ring = Mixture2D(modes="ring8", size=4).centers
    assert torch.allclose(ring, torch.stack([angles.cos(), angles.sin()], 1), atol=1e-6)
    grid = Mixture2D(modes="grid25", size=4).centers
    assert {tuple(c) for c in grid.tolist()} == {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}


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
        xs = torch.stack([ds[i][k] for i in range(len(ds))])
        assert -1 <= xs.min() and xs.max() <= 1
    for k in ("mask_A", "mask_B"):
        assert s[k].shape == (1, 32, 32) and s[k].dtype == torch.float32
        assert set(s[k].unique().tolist()) <= {0.0, 1.0}
    assert ToyZebra(size=2, image_size=64)[0]["A"].shape == (3, 64, 64)


def test_toyzebra_object_coverage():
    ds = ToyZebra(size=200, image_size=32)
    for k in ("mask_A", "mask_B"):
        cover = torch.stack([ds[i][k].mean() for i in range(200)])
        assert cover.min() > 0.07 and cover.max() < 0.4, k
        assert 0.12 < cover.mean() < 0.3, k


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


@pytest.fixture(scope="module")
def zebra():
    ds = ToyZebra(size=32, image_size=32, seed=0)
    samples = [ds[i] for i in range(len(ds))]
    return {k: torch.stack([s[k] for s in samples]) for k in samples[0]}


def test_toyzebra_background_is_smooth(zebra):
    """Outside the mask: neighbouring pixels differ little (gradient + low-frequency noise)."""
    for img_key, mask_key in (("A", "mask_A"), ("B", "mask_B")):
        img, bg = zebra[img_key], 1 - zebra[mask_key]
        dx = (img[..., :, 1:] - img[..., :, :-1]).abs() * bg[..., :, 1:] * bg[..., :, :-1]
        dy = (img[..., 1:, :] - img[..., :-1, :]).abs() * bg[..., 1:, :] * bg[..., :-1, :]
        n = bg.sum() * img.shape[1]  # background pixels x channels
        assert (dx.sum() + dy.sum()) / (2 * n) < 0.03, img_key  # mean step: tiny
        assert max(dx.max(), dy.max()) < 0.35, img_key  # the steepest step is the soft horizon
    # inside B's object the stripes jump black <-> white
    b, m = zebra["B"], zebra["mask_B"]
    inside = (b[..., :, 1:] - b[..., :, :-1]).abs() * m[..., :, 1:] * m[..., :, :-1]
    assert inside.flatten(1).max(1).values.min() > 1.0


def test_toyzebra_b_striped_a_not(zebra):
    """By the evaluator's own measure (ganlab.metrics.masks.stripedness)."""
    sa = stripedness_per_image(zebra["A"], zebra["mask_A"])
    sb = stripedness_per_image(zebra["B"], zebra["mask_B"])
    assert sa.max() < 0.15
    assert sb.mean() > 0.6 and sb.min() > 0.4


def test_toyzebra_unpaired_and_splits():
    train = ToyZebra(size=64, seed=0, split="train")
    test = ToyZebra(size=64, seed=0, split="test")
    assert not torch.equal(train[0]["A"], test[0]["A"])
    assert not torch.equal(train[0]["B"], test[0]["B"])
    # A and B are separate streams: B's object at an index is not A's object at that index
    assert not all(torch.equal(train[i]["mask_A"], train.sample("B", i)[1]) for i in range(16))
    # B is drawn by a permutation: every B image used once per pass, not aligned with A's index
    bs = {train.perm_b[i].item() for i in range(64)}
    assert bs == set(range(64)) and train.perm_b.tolist() != list(range(64))
    assert torch.equal(train[3]["B"], train.sample("B", int(train.perm_b[3]))[0])
    with pytest.raises(ValueError, match="train or test"):
        ToyZebra(split="val")
