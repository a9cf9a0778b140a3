"""data.in_memory for the image folders: each file decoded once at construction and kept as a
resized uint8 tensor, the same batches bit for bit as decoding per draw, the budget of auto."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.data import folders
from ganlab.data.errors import DataError
from ganlab.data.folders import ImageFolder, UnpairedFolders
from ganlab.data.loader import Batches, Position


def _mixed(root: Path, n: int = 6, seed: int = 0) -> Path:
    """Images of several sizes, aspect ratios, modes and formats (resizing differs for each)."""
    rng = np.random.default_rng(seed)
    shapes = [(40, 30), (17, 50), (64, 64), (20, 20), (300, 200), (12, 50)]
    modes = ["RGB", "L", "RGBA", "P", "RGB", "L"]
    for i in range(n):
        w, h = shapes[i % len(shapes)]
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(modes[i % len(modes)])
        img.save(root / f"img{i}.{'jpg' if i % 3 == 1 and modes[i % 6] != 'P' else 'png'}")
    return root


def _epochs(ds, key: str, in_memory, epochs: int = 2) -> list[torch.Tensor]:
    """Every batch of `epochs` epochs through the training loader, as build.py makes it."""
    b = Batches(ds, batch_size=2, seed=3, in_memory=in_memory)
    return [batch[key] for e in range(epochs) for batch in b.epoch(Position(epoch=e))]


@pytest.mark.parametrize("augment", [True, False])
def test_image_folder_in_memory_gives_bitwise_equal_batches(tmp_path, augment):
    _mixed(tmp_path)
    out = {}
    for in_memory in (False, True, "auto"):
        ds = ImageFolder(root=tmp_path, image_size=16, augment=augment, in_memory=in_memory)
        assert (ds.images.kept is not None) == (in_memory is not False)
        out[in_memory] = _epochs(ds, "x", in_memory)
    assert len(out[False]) == 6
    for kept in (True, "auto"):
        assert all(torch.equal(a, b) for a, b in zip(out[False], out[kept], strict=True))
    if augment:  # the seeded augmentation still differs between epochs (it is not frozen at construction)
        assert not all(torch.equal(a, b) for a, b in zip(out[True][:3], out[True][3:]))


def test_unpaired_folders_in_memory_gives_bitwise_equal_batches(tmp_path):
    for d, seed in (("A", 0), ("B", 1)):
        (tmp_path / d).mkdir()
        _mixed(tmp_path / d, n=4 + seed, seed=seed)
    out = {}
    for in_memory in (False, True):
        ds = UnpairedFolders(root_a=tmp_path / "A", root_b=tmp_path / "B", image_size=16, in_memory=in_memory)
        out[in_memory] = [torch.cat([a, b]) for a, b in zip(_epochs(ds, "A", in_memory), _epochs(ds, "B", in_memory))]
    assert len(out[False]) == 4
    assert all(torch.equal(a, b) for a, b in zip(out[False], out[True], strict=True))


def test_auto_decodes_each_file_once_and_the_loader_never_again(tmp_path, monkeypatch):
    _mixed(tmp_path)
    decoded, opened = [], []
    real_convert, real_open = folders.open_converted, Image.open
    monkeypatch.setattr(folders, "open_converted", lambda path, channels: (decoded.append(path),
                                                                           real_convert(path, channels))[1])
    monkeypatch.setattr(folders, "unreadable_reason", lambda *a: pytest.fail("decoded a second time to check it"))
    ds = ImageFolder(root=tmp_path, image_size=16, augment=True, in_memory="auto")
    assert sorted(decoded) == sorted(ds.files) and len(decoded) == 6  # each file decoded exactly once
    monkeypatch.setattr(Image, "open", lambda *a, **k: (opened.append(a), real_open(*a, **k))[1])
    for f in ds.files:  # nothing left to decode: the batches come from memory
        f.unlink()
    batches = _epochs(ds, "x", "auto")
    assert len(batches) == 6 and not opened and len(decoded) == 6


def test_auto_over_budget_decodes_per_draw(tmp_path, caplog):
    _mixed(tmp_path)
    with caplog.at_level("INFO", logger="ganlab"):
        ds = ImageFolder(root=tmp_path, image_size=16, in_memory="auto", in_memory_budget_mb=0.001)
    assert ds.images.kept is None
    assert any("data.in_memory_budget_mb=0.001" in r.getMessage() for r in caplog.records)
    assert ds[0]["x"].shape == (3, 16, 16)
    roomy = ImageFolder(root=tmp_path, image_size=16, in_memory="auto", in_memory_budget_mb=1)  # 6 x ~1 kB
    assert roomy.images.kept is not None
    assert torch.equal(roomy[5]["x"], ds[5]["x"])


def test_in_memory_bad_value_names_the_key(tmp_path):
    _mixed(tmp_path, n=1)
    with pytest.raises(DataError, match=r"^data.in_memory='yes': choose auto, true or false$"):
        ImageFolder(root=tmp_path, image_size=16, in_memory="yes")
