"""Image folders, unpaired folders, MNIST, and every conf/data/*.yaml: real loading code on tiny
fixtures made here; bad input gives a DataError naming what to fix."""

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

from conftest import write_idx
from ganlab.data.errors import DataError
from ganlab.data.folders import MNIST, ImageFolder, UnpairedFolders, missing_root_error
from ganlab.data.transforms import apply_to_sample, augment_tensor_pipeline

CONF = Path(__file__).resolve().parents[2] / "conf" / "data"


def _image(path: Path, size=(40, 30), mode="RGB", seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(arr).convert(mode)
    img.save(path)
    return path


def _folder(root: Path, n: int, prefix: str = "img") -> Path:
    for i in range(n):
        _image(root / f"{prefix}{i}.png", seed=i)
    return root


def test_image_folder_mixed_sizes_modes_and_nesting(tmp_path):
    _image(tmp_path / "a.png", (40, 30), "RGB")
    _image(tmp_path / "b.jpg", (17, 50), "L")
    _image(tmp_path / "sub" / "c.png", (64, 64), "RGBA")
    _image(tmp_path / "sub" / "deeper" / "d.png", (20, 20), "P")
    _image(tmp_path / "e.jpg", (300, 200), "CMYK")
    _image(tmp_path / "sub" / "f.JPEG", (12, 50), "L")  # extensions match case-insensitively
    (tmp_path / "notes.txt").write_text("not an image")
    for channels, augment in ((3, False), (1, False), (3, True)):
        ds = ImageFolder(root=tmp_path, image_size=16, channels=channels, augment=augment)
        assert len(ds) == 6
        ds.verify()
        for i in range(len(ds)):
            s = ds[i]
            assert set(s) == {"x", "y"}
            assert s["x"].shape == (channels, 16, 16) and s["x"].dtype == torch.float32
            assert -1 <= s["x"].min() and s["x"].max() <= 1
            assert s["y"].dtype == torch.int64 and int(s["y"]) == 0


def test_image_folder_augmentation_uses_global_rng(tmp_path):
    _folder(tmp_path, 2)
    ds = ImageFolder(root=tmp_path, image_size=16, augment=True)
    torch.manual_seed(1)
    a = ds[0]["x"]
    torch.manual_seed(1)
    assert torch.equal(a, ds[0]["x"])  # the loader seeds this per sample: exact resume
    outs = set()
    for s in range(8):
        torch.manual_seed(s)
        outs.add(ds[0]["x"].sum().item())
    assert len(outs) > 1  # and it does augment


def test_missing_root_names_path_and_key(tmp_path):
    with pytest.raises(DataError, match=r"nowhere not found.*data\.root="):
        ImageFolder(root=tmp_path / "nowhere", image_size=16)


def test_missing_horse2zebra_says_how_to_download(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as e:
        UnpairedFolders(root_a="data/horse2zebra/trainA", root_b="data/horse2zebra/trainB", image_size=16)
    assert str(e.value) == ("data/horse2zebra not found: run `ganlab data download horse2zebra` "
                            "(or set data.root=...)")
    # any CycleGAN-layout root (trainA/trainB under data.root) that is missing says how to get one
    other = tmp_path / "h2z"
    msg = str(missing_root_error(other / "trainA", "data.root"))
    assert "ganlab data download horse2zebra" in msg and str(other) in msg
    # a plain folder does not advertise a download
    assert "download" not in str(missing_root_error(tmp_path / "faces", "data.root"))


def test_empty_folder_named(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"empty holds no images"):
        ImageFolder(root=tmp_path / "empty", image_size=16)


def _bad_files(root: Path) -> dict[str, Path]:
    """A corrupt PNG (random bytes), an empty file and a JPEG cut in half, next to good images."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "noise.png").write_bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    (root / "empty.png").write_bytes(b"")
    full = _image(root / "whole.jpg", (64, 64)).read_bytes()
    (root / "whole.jpg").unlink()
    (root / "half.jpg").write_bytes(full[: len(full) // 2])
    return {n: root / n for n in ("noise.png", "empty.png", "half.jpg")}


@pytest.mark.parametrize("in_memory", [False, True])  # the check decodes at reduced scale, or in full and keeps
@pytest.mark.parametrize("bad", ["noise.png", "empty.png", "half.jpg"])
def test_unreadable_image_named_at_construction(tmp_path, bad, in_memory):
    _folder(tmp_path, 2)
    files = _bad_files(tmp_path / "bad")
    for name, path in files.items():
        if name != bad:
            path.unlink()
    with pytest.raises(DataError) as e:
        ImageFolder(root=tmp_path, image_size=16, in_memory=in_memory)
    msg = str(e.value)
    assert str(files[bad]) in msg and msg.startswith("1 unreadable image")
    assert "data.dataset.skip_unreadable=true" in msg and "\n" not in msg


@pytest.mark.parametrize("in_memory", [False, True])
def test_unreadable_images_skipped_with_one_warning(tmp_path, caplog, in_memory):
    _folder(tmp_path, 2)
    files = _bad_files(tmp_path)
    with pytest.raises(DataError, match="3 unreadable image") as e:
        ImageFolder(root=tmp_path, image_size=16, in_memory=in_memory)
    assert all(str(f) in str(e.value) for f in files.values())
    with caplog.at_level("WARNING", logger="ganlab"):
        ds = ImageFolder(root=tmp_path, image_size=16, skip_unreadable=True, in_memory=in_memory)
    assert len(ds) == 2 and not set(files.values()) & set(ds.files)
    ds.verify()
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and all(str(f) in warnings[0].getMessage() for f in files.values())


def test_only_unreadable_images_is_an_error_even_when_skipping(tmp_path):
    _bad_files(tmp_path)
    with pytest.raises(DataError, match="every image under .* is unreadable"):
        ImageFolder(root=tmp_path, image_size=16, skip_unreadable=True)


def test_many_unreadable_images_listed_up_to_five(tmp_path):
    _folder(tmp_path, 1)
    for i in range(7):
        (tmp_path / f"bad{i}.png").write_bytes(b"not a png")
    with pytest.raises(DataError) as e:
        ImageFolder(root=tmp_path, image_size=16)
    assert str(e.value).startswith("7 unreadable image") and "and 2 more" in str(e.value)
    assert sum(f"bad{i}.png" in str(e.value) for i in range(7)) == 5


def test_root_that_is_a_file(tmp_path):
    f = _image(tmp_path / "one.png")
    with pytest.raises(DataError) as e:
        ImageFolder(root=f, image_size=16)
    assert str(e.value) == f"{f} is a file, not a folder of images (set data.root=...)"
    _folder(tmp_path / "A", 1)
    with pytest.raises(DataError, match=r"one.png is a file, not a folder of images \(set data\.root_b=\.\.\.\)"):
        UnpairedFolders(root_a=tmp_path / "A", root_b=f, image_size=16)


def test_unpaired_folders_unreadable_images(tmp_path, caplog):
    _folder(tmp_path / "trainA", 2, "a")
    _folder(tmp_path / "trainB", 2, "b")
    files = _bad_files(tmp_path / "trainB")
    with pytest.raises(DataError, match="3 unreadable image.*data.dataset.skip_unreadable=true") as e:
        UnpairedFolders(root_a=tmp_path / "trainA", root_b=tmp_path / "trainB", image_size=16)
    assert all(str(f) in str(e.value) for f in files.values())
    with caplog.at_level("WARNING", logger="ganlab"):
        ds = UnpairedFolders(root_a=tmp_path / "trainA", root_b=tmp_path / "trainB", image_size=16,
                             skip_unreadable=True)
    assert len(ds.files_a) == len(ds.files_b) == 2 and sorted(ds.perm_b.tolist()) == [0, 1]
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and all(str(f) in warnings[0].getMessage() for f in files.values())
    ds.verify()
    _folder(tmp_path / "testA", 1, "a")
    _bad_files(tmp_path / "testB")
    (tmp_path / "testB" / "empty.png").unlink()
    _folder(tmp_path / "testB", 1, "b")
    with pytest.raises(DataError, match="data.test_dataset.skip_unreadable=true"):  # the node that builds it
        UnpairedFolders(root_a=tmp_path / "testA", root_b=tmp_path / "testB", image_size=16)


def test_unpaired_folders_format_and_pairing(tmp_path):
    _folder(tmp_path / "A", 3, "a")
    _folder(tmp_path / "B", 5, "b")
    ds = UnpairedFolders(root_a=tmp_path / "A", root_b=tmp_path / "B", image_size=16, augment=False, seed=1)
    assert len(ds) == 5
    s = ds[4]
    assert set(s) == {"A", "B"} and s["A"].shape == s["B"].shape == (3, 16, 16)
    assert torch.equal(ds[4]["A"], ds[1]["A"])  # A[i % len_A]
    bs = [ds[i]["B"] for i in range(5)]
    assert all(not torch.equal(bs[i], bs[j]) for i in range(5) for j in range(i))  # a permutation
    assert sorted(ds.perm_b.tolist()) == list(range(5))
    other = UnpairedFolders(root_a=tmp_path / "A", root_b=tmp_path / "B", image_size=16, augment=False, seed=1)
    assert torch.equal(other[2]["B"], ds[2]["B"])  # the pairing is a function of the seed
    ds.verify()
    with pytest.raises(DataError, match=r"B2 not found.*data\.root_b="):
        UnpairedFolders(root_a=tmp_path / "A", root_b=tmp_path / "B2", image_size=16)


def _fake_mnist(root: Path, n: int = 6) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split in ("train", "t10k"):
        write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(raw / f"{split}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    return root


def test_mnist_padded_to_32(tmp_path):
    ds = MNIST(root=_fake_mnist(tmp_path / "mnist"), image_size=32)
    s = ds[3]
    assert len(ds) == 6 and s["x"].shape == (1, 32, 32) and int(s["y"]) == 3
    assert s["y"].dtype == torch.int64
    assert torch.all(s["x"][:, :2] == -1) and -1 <= s["x"].min() and s["x"].max() <= 1  # 2 px black pad
    assert MNIST(root=tmp_path / "mnist", image_size=64, train=False)[0]["x"].shape == (1, 64, 64)


def test_mnist_missing_root(tmp_path):
    with pytest.raises(DataError, match=r"MNIST not found under .*nope.*data\.root="):
        MNIST(root=tmp_path / "nope")


def test_augment_tensor_pipeline_moves_masks_with_images():
    torch.manual_seed(0)
    img = torch.linspace(-1, 1, 16).expand(3, 16, 16).clone()
    mask = (img[:1] > 0).float()
    for s in range(4):
        torch.manual_seed(s)
        out = apply_to_sample(augment_tensor_pipeline(image_size=16), {"A": img, "mask_A": mask})
        assert out["A"].shape == (3, 16, 16) and out["mask_A"].shape == (1, 16, 16)
        assert torch.equal(out["mask_A"] > 0.5, out["A"][:1] > 0)  # same crop and flip
        assert type(out["A"]) is torch.Tensor


# -- every data config ------------------------------------------------------------------------

def _data_cfg(name: str, tmp_path: Path):
    """conf/data/<name>.yaml under a `data:` key (so ${data.*} resolves), small sizes, tmp roots."""
    cfg = OmegaConf.create({"data": OmegaConf.load(CONF / f"{name}.yaml")})
    if "size" in cfg.data.dataset:
        cfg.data.dataset.size = 32
    if cfg.data.get("test_dataset") and "size" in cfg.data.test_dataset:
        cfg.data.test_dataset.size = 8
    if name == "folder":
        cfg.data.root = str(_folder(tmp_path / "simpsons", 3))
    elif name == "horse2zebra":
        for sub in ("trainA", "trainB", "testA", "testB"):
            _folder(tmp_path / "h2z" / sub, 2, sub)
        cfg.data.root = str(tmp_path / "h2z")
    elif name == "unpaired_folder":
        cfg.data.root_a, cfg.data.root_b = str(_folder(tmp_path / "a", 2)), str(_folder(tmp_path / "b", 3))
    elif name in ("mnist", "stacked_mnist"):
        cfg.data.root = str(_fake_mnist(tmp_path / "mnist"))
    return cfg


@pytest.mark.parametrize("name", sorted(p.stem for p in CONF.glob("*.yaml")))
def test_every_data_config_instantiates(name, tmp_path):
    cfg = _data_cfg(name, tmp_path)
    d = cfg.data
    assert d.name == name and d.cache in ("none", "h5")
    assert d.batch_size > 0 and d.num_classes >= 0 and d.num_workers >= 0
    if name in ("folder", "horse2zebra"):
        assert d.image_size  # the size is a key, overridable from the command line
    ds = instantiate(d.dataset)
    s = ds[0]
    if "A" in s:  # unpaired (translation) data
        assert s["A"].shape == s["B"].shape == (d.channels, d.image_size, d.image_size)
    elif "modes" in d:  # 2D points
        assert d.modes in ("ring8", "grid25") and ds.std == d.std and ds.centers.shape[1] == 2
        assert s["x"].shape == (2,)
    else:  # images
        assert s["x"].shape == (d.channels, d.image_size, d.image_size)
        assert 0 <= int(s["y"]) < max(1, d.num_classes)
    if d.test_dataset is not None:
        t = instantiate(d.test_dataset)
        assert t[0].keys() == s.keys()
