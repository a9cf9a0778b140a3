"""Embedded datasets (shapes, ring8/grid25, toyzebra) and image folders: the dict contract,
determinism, value ranges, and the DataErrors that name what to fix."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.data.errors import DataError
from ganlab.data.folders import ImageFolder, UnpairedFolders, missing_root_error
from ganlab.data.synthetic import Mixture2D, Shapes
from ganlab.data.toyzebra import ToyZebra
from ganlab.metrics.masks import stripedness_per_image

# ---------------------------------------------------------------- shapes

def test_shapes_contract_and_range():
    ds = Shapes(size=48, image_size=16, seed=0)
    assert len(ds) == 48
    s = ds[5]
    assert set(s) == {"x", "y"}
    assert s["x"].shape == (3, 16, 16) and s["x"].dtype == torch.float32
    assert s["y"].dim() == 0 and s["y"].dtype == torch.int64
    xs = torch.stack([ds[i]["x"] for i in range(48)])
    assert xs.min() >= -1 and xs.max() <= 1
    assert xs.max() - xs.min() > 1  # a coloured shape on a dark background, not a flat image
    grey = Shapes(size=4, image_size=16, channels=1)[0]["x"]
    assert grey.shape == (1, 16, 16)
    with pytest.raises(IndexError):
        ds[48]


def test_shapes_deterministic_and_seeded():
    a, b = Shapes(size=8, image_size=16, seed=0), Shapes(size=8, image_size=16, seed=0)
    assert torch.equal(a[3]["x"], a[3]["x"])
    assert torch.equal(a[3]["x"], b[3]["x"])  # a fresh object, same (seed, index)
    assert not torch.equal(a[3]["x"], a[4]["x"])
    c = Shapes(size=8, image_size=16, seed=1)
    assert not torch.equal(a[3]["x"], c[3]["x"])
    assert int(a[3]["y"]) == int(c[3]["y"])  # labels are by index, images by seed
    # sample i does not depend on the dataset size, nor on the global RNG
    torch.manual_seed(123)
    assert torch.equal(Shapes(size=100, image_size=16, seed=0)[3]["x"], a[3]["x"])


def test_shapes_labels_cover_all_classes():
    ds = Shapes(size=300, image_size=8, seed=0)
    labels = torch.stack([ds[i]["y"] for i in range(300)])
    assert Shapes.num_classes == 12
    assert set(labels.tolist()) == set(range(12))
    counts = torch.bincount(labels, minlength=12)
    assert counts.max() - counts.min() <= 1  # balanced


# ---------------------------------------------------------------- 2D mixtures

def test_ring8_centers_std_and_points():
    ds = Mixture2D(modes="ring8", size=2000, seed=0)
    assert ds.std == 0.01
    assert ds.centers.shape == (8, 2)
    angles = torch.arange(8) * 2 * math.pi / 8
    assert torch.allclose(ds.centers, torch.stack([angles.cos(), angles.sin()], 1), atol=1e-6)
    s = ds[0]
    assert set(s) == {"x", "y"} and s["x"].shape == (2,) and s["x"].dtype == torch.float32
    x = torch.stack([ds[i]["x"] for i in range(len(ds))])
    nearest = torch.cdist(x, ds.centers).min(1).values
    assert nearest.max() < 5 * ds.std
    assert nearest.mean() == pytest.approx(ds.std * math.sqrt(math.pi / 2), rel=0.15)  # Rayleigh mean
    assert set(torch.cdist(x, ds.centers).argmin(1).tolist()) == set(range(8))


def test_grid25_centers_std_and_points():
    ds = Mixture2D(modes="grid25", size=3000, seed=0)
    assert ds.std == 0.05
    assert ds.centers.shape == (25, 2)
    assert {tuple(c) for c in ds.centers.tolist()} == {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    x = ds.as_tensors()["x"]
    assert x.shape == (3000, 2)
    d = torch.cdist(x, ds.centers)
    assert d.min(1).values.max() < 5 * ds.std
    assert set(d.argmin(1).tolist()) == set(range(25))


def test_mixture_deterministic():
    a, b = Mixture2D(modes="ring8", size=100, seed=0), Mixture2D(modes="ring8", size=100, seed=0)
    assert torch.equal(a[7]["x"], b[7]["x"])
    assert torch.equal(a[7]["x"], Mixture2D(modes="ring8", size=1000, seed=0)[7]["x"])  # size-independent
    assert not torch.equal(a[7]["x"], Mixture2D(modes="ring8", size=100, seed=1)[7]["x"])
    with pytest.raises(ValueError, match="ring8 or grid25"):
        Mixture2D(modes="ring9")


# ---------------------------------------------------------------- toyzebra

@pytest.fixture(scope="module")
def zebra():
    ds = ToyZebra(size=32, image_size=32, seed=0)
    samples = [ds[i] for i in range(len(ds))]
    return {k: torch.stack([s[k] for s in samples]) for k in samples[0]}


def test_toyzebra_contract(zebra):
    assert set(zebra) == {"A", "B", "mask_A", "mask_B"}
    for k in ("A", "B"):
        assert zebra[k].shape == (32, 3, 32, 32) and zebra[k].dtype == torch.float32
        assert zebra[k].min() >= -1 and zebra[k].max() <= 1
    for k in ("mask_A", "mask_B"):
        assert zebra[k].shape == (32, 1, 32, 32)
        assert set(torch.unique(zebra[k]).tolist()) <= {0.0, 1.0}


def test_toyzebra_deterministic_seed_and_split():
    a = ToyZebra(size=8, image_size=16, seed=0)
    b = ToyZebra(size=8, image_size=16, seed=0)
    for k in ("A", "B", "mask_A", "mask_B"):
        assert torch.equal(a[2][k], b[2][k])
    assert not torch.equal(a[2]["A"], ToyZebra(size=8, image_size=16, seed=1)[2]["A"])
    test = ToyZebra(size=8, image_size=16, seed=0, split="test")
    assert not torch.equal(a[2]["A"], test[2]["A"])
    assert not torch.equal(a[2]["B"], test[2]["B"])
    with pytest.raises(ValueError):
        ToyZebra(size=8, split="val")


def test_toyzebra_mask_coverage(zebra):
    for k in ("mask_A", "mask_B"):
        cov = zebra[k].flatten(1).mean(1)
        assert cov.min() > 0.08 and cov.max() < 0.4, (k, cov)


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
    sa = stripedness_per_image(zebra["A"], zebra["mask_A"])
    sb = stripedness_per_image(zebra["B"], zebra["mask_B"])
    assert sa.max() < 0.15
    assert sb.mean() > 0.6 and sb.min() > 0.4


def test_toyzebra_pairs_not_aligned():
    ds = ToyZebra(size=16, image_size=16, seed=0)
    same = [torch.equal(ds[i]["mask_A"], ds.sample("B", i)[1]) for i in range(16)]
    assert not all(same)
    assert sorted(ds.perm_b.tolist()) == list(range(16))


# ---------------------------------------------------------------- image folders

def _save(path: Path, size: tuple[int, int], mode: str, seed: int, fmt: str | None = None) -> Path:
    rng = np.random.default_rng(seed)
    w, h = size
    rgb = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    if mode == "RGBA":
        img = rgb.convert("RGBA")
    elif mode == "P":
        img = rgb.convert("P", palette=Image.Palette.ADAPTIVE)
    else:
        img = rgb.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt)
    return path


@pytest.fixture
def mixed_folder(tmp_path):
    root = tmp_path / "imgs"
    _save(root / "a.png", (20, 30), "RGB", 0)
    _save(root / "b.png", (9, 9), "L", 1)
    _save(root / "c.png", (40, 17), "RGBA", 2)
    _save(root / "d.png", (16, 16), "P", 3)
    _save(root / "sub" / "e.jpg", (33, 21), "RGB", 4, fmt="JPEG")
    _save(root / "sub" / "f.JPEG", (12, 50), "L", 5, fmt="JPEG")
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.mark.parametrize("augment", [False, True])
def test_image_folder_mixed_sizes_and_modes(mixed_folder, augment):
    ds = ImageFolder(root=mixed_folder, image_size=8, augment=augment)
    assert len(ds) == 6  # recursive, case-insensitive extensions, non-images skipped
    for i in range(len(ds)):
        s = ds[i]
        assert set(s) == {"x", "y"}
        assert s["x"].shape == (3, 8, 8) and s["x"].dtype == torch.float32
        assert s["x"].min() >= -1 and s["x"].max() <= 1
    ds.verify()
    grey = ImageFolder(root=mixed_folder, image_size=8, channels=1)
    assert grey[0]["x"].shape == (1, 8, 8)


def test_image_folder_missing_root(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(DataError) as e:
        ImageFolder(root=missing, image_size=8)
    assert str(missing) in str(e.value) and "data.root" in str(e.value)


def test_image_folder_empty(tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "readme.txt").write_text("x")
    with pytest.raises(DataError) as e:
        ImageFolder(root=empty, image_size=8)
    assert str(empty) in str(e.value) and "no images" in str(e.value)


def test_unpaired_folders_pairing(tmp_path):
    for i in range(3):
        _save(tmp_path / "A" / f"{i}.png", (10, 10), "RGB", i)
    for i in range(5):
        _save(tmp_path / "B" / f"{i}.png", (12, 8), "L", 10 + i)
    ds = UnpairedFolders(root_a=tmp_path / "A", root_b=tmp_path / "B", image_size=8, augment=False, seed=0)
    assert len(ds) == 5
    s = ds[4]
    assert set(s) == {"A", "B"}
    assert s["A"].shape == s["B"].shape == (3, 8, 8)
    assert torch.equal(ds[4]["A"], ds[1]["A"])  # A wraps around: index % len_A
    assert sorted(ds.perm_b.tolist()) == list(range(5))
    b_images = [ds[i]["B"] for i in range(5)]  # every B image is visited once per epoch
    assert all(not torch.equal(b_images[i], b_images[j]) for i in range(5) for j in range(i))
    other = UnpairedFolders(root_a=tmp_path / "A", root_b=tmp_path / "B", image_size=8, augment=False, seed=0)
    assert torch.equal(other[2]["B"], ds[2]["B"])
    ds.verify()


def test_unpaired_folders_errors_name_the_key(tmp_path):
    _save(tmp_path / "A" / "0.png", (8, 8), "RGB", 0)
    with pytest.raises(DataError) as e:
        UnpairedFolders(root_a=tmp_path / "A", root_b=tmp_path / "faces", image_size=8)
    assert str(tmp_path / "faces") in str(e.value) and "data.root_b" in str(e.value)


def test_horse2zebra_missing_root_mentions_download(tmp_path):
    root = tmp_path / "data" / "horse2zebra"
    with pytest.raises(DataError) as e:
        UnpairedFolders(root_a=root / "trainA", root_b=root / "trainB", image_size=8)
    msg = str(e.value)
    assert "ganlab data download horse2zebra" in msg and str(root) in msg and "data.root" in msg
    # any CycleGAN-layout root (trainA/trainB under data.root) that is missing says how to get one
    other = tmp_path / "h2z"
    msg = str(missing_root_error(other / "trainA", "data.root"))
    assert "ganlab data download horse2zebra" in msg and str(other) in msg
    # a plain folder does not advertise a download
    assert "download" not in str(missing_root_error(tmp_path / "faces", "data.root"))
