"""The h5 cache: prepare + H5Dataset round trips, atomic writes, DataLoader workers, and the
`ganlab data prepare` / `data.cache=h5` commands end to end."""

import pickle

import h5py
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from conftest import summary
from ganlab.data.errors import DataError
from ganlab.data.h5cache import H5Dataset, prepare
from ganlab.data.synthetic import Mixture2D, Shapes
from ganlab.data.toyzebra import ToyZebra
from ganlab.data.transforms import augment_tensor_pipeline


def _all(ds):
    samples = [ds[i] for i in range(len(ds))]
    return {k: torch.stack([s[k] for s in samples]) for k in samples[0]}


@pytest.mark.parametrize("dtype,tol", [("uint8", 1 / 127.5 + 1e-6), ("float16", 1e-3)])
def test_shapes_round_trip(tmp_path, dtype, tol):
    src = Shapes(size=40, image_size=8, seed=0)
    path = prepare(src, tmp_path / "cache" / "shapes.h5", dtype=dtype, batch=16)  # several write batches
    assert path.is_file()
    ds = H5Dataset(path=path)
    assert len(ds) == 40 and ds.dtype == dtype
    a, b = _all(src), _all(ds)
    assert set(b) == {"x", "y"}
    assert b["x"].dtype == torch.float32 and b["x"].shape == a["x"].shape
    assert (b["x"] - a["x"]).abs().max() <= tol
    assert b["y"].dtype == torch.int64 and torch.equal(b["y"], a["y"])
    assert b["y"][3].dim() == 0
    whole = ds.as_tensors()  # the loader's in-memory path decodes the same values
    assert torch.equal(whole["x"], b["x"]) and torch.equal(whole["y"], b["y"])
    with pytest.raises(IndexError):
        ds[40]


def test_uint8_is_four_times_smaller(tmp_path):
    src = Shapes(size=32, image_size=16)
    u8 = prepare(src, tmp_path / "u8.h5", dtype="uint8")
    with h5py.File(u8) as f:
        assert f["x"].dtype == "uint8" and f["x"].chunks[0] == 1
    f16 = prepare(src, tmp_path / "f16.h5", dtype="float16")
    with h5py.File(f16) as f:
        assert f["x"].dtype == "float16"


def test_toyzebra_round_trip_masks_exact(tmp_path):
    src = ToyZebra(size=12, image_size=16, seed=0)
    ds = H5Dataset(path=prepare(src, tmp_path / "tz.h5", dtype="uint8", batch=5))
    a, b = _all(src), _all(ds)
    assert set(b) == {"A", "B", "mask_A", "mask_B"}
    for k in ("mask_A", "mask_B"):
        assert b[k].dtype == torch.float32 and torch.equal(b[k], a[k])
    for k in ("A", "B"):
        assert (b[k] - a[k]).abs().max() <= 1 / 127.5 + 1e-6


def test_points_round_trip_exact(tmp_path):
    src = Mixture2D(modes="grid25", size=50, seed=0)
    ds = H5Dataset(path=prepare(src, tmp_path / "g.h5", dtype="uint8"))  # points are never quantised
    assert torch.equal(_all(ds)["x"], _all(src)["x"])


def test_transform_moves_image_and_mask_together(tmp_path):
    src = ToyZebra(size=4, image_size=16, seed=0)
    path = prepare(src, tmp_path / "tz.h5")
    ds = H5Dataset(path=path, transform=augment_tensor_pipeline(image_size=16, load_size=1.25))
    torch.manual_seed(0)
    s = ds[1]
    assert s["A"].shape == (3, 16, 16) and s["mask_A"].shape == (1, 16, 16)
    # the mask still outlines the (brown) object: inside and outside differ in colour
    inside = s["A"][:, s["mask_A"][0] > 0.5].mean(1)
    outside = s["A"][:, s["mask_A"][0] < 0.5].mean(1)
    assert (inside - outside).abs().max() > 0.2
    with pytest.raises(ValueError):
        ds.as_tensors()


class Exploding(Dataset):
    def __init__(self, n=20, at=5):
        self.inner, self.n, self.at = Shapes(size=n, image_size=8), n, at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.at:
            raise RuntimeError(f"boom at {i}")
        return self.inner[i]


@pytest.mark.parametrize("batch", [2, 256])
def test_failure_mid_write_leaves_no_file(tmp_path, batch):
    out = tmp_path / "cache"
    with pytest.raises(RuntimeError, match="boom at 5"):
        prepare(Exploding(), out / "x.h5", batch=batch)
    assert list(out.iterdir()) == []  # neither the file nor its temp


def test_failure_keeps_previous_file(tmp_path):
    path = prepare(Shapes(size=10, image_size=8), tmp_path / "x.h5")
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        prepare(Exploding(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.h5"]


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="uint8 or float16"):
        prepare(Shapes(size=4, image_size=8), tmp_path / "x.h5", dtype="int8")
    with pytest.raises(DataError, match="ganlab data prepare"):
        H5Dataset(path=tmp_path / "missing.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(DataError, match="not a ganlab h5 cache"):
        H5Dataset(path=junk)


def test_pickles_and_works_in_workers(tmp_path):
    src = Shapes(size=16, image_size=8, seed=0)
    ds = H5Dataset(path=prepare(src, tmp_path / "s.h5"))
    first = ds[0]  # the parent opens its handle first: workers must not reuse it
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._f is None
    assert torch.equal(clone[0]["x"], first["x"])
    loader = DataLoader(ds, batch_size=4, num_workers=2, shuffle=False)
    got = torch.cat([b["x"] for b in loader])
    assert torch.equal(got, _all(ds)["x"])
    assert torch.equal(torch.cat([b["y"] for b in loader]), _all(src)["y"])


def test_data_cache_h5_is_the_node_in_data_caches(tmp_path, monkeypatch):
    from ganlab.config import compose
    from ganlab.errors import ConfigError
    from ganlab.training.build import build_dataset

    monkeypatch.chdir(tmp_path)
    cfg = compose(["data=toyzebra", "data.image_size=16", "data.cache=h5"])
    assert cfg.data.caches.h5._target_ == "ganlab.data.h5cache.PreparedDataset"
    with pytest.raises(DataError, match=r"^data.cache: data/cache/toyzebra_16px.h5 does not exist: "
                                        r"run `ganlab data prepare data=toyzebra` first"):
        build_dataset(cfg)
    src = ToyZebra(size=4, image_size=16, seed=0)
    prepare(src, tmp_path / "data" / "cache" / "toyzebra_16px.h5")
    ds = build_dataset(cfg)
    assert isinstance(ds, H5Dataset) and len(ds) == 4 and ds.transform is None
    assert torch.equal(ds[0]["mask_A"], src[0]["mask_A"])
    assert build_dataset(cfg, "test").__class__ is ToyZebra  # the cache is for the train split only
    cfg.data.cache = "zarr"
    with pytest.raises(ConfigError, match="data.cache='zarr': choose none or a key of data.caches"):
        build_dataset(cfg)


def test_cached_folder_data_augments_on_top(tmp_path):
    from ganlab.data.h5cache import PreparedDataset

    path = prepare(ToyZebra(size=4, image_size=16, seed=0), tmp_path / "tz.h5")
    ds = PreparedDataset(name="toyzebra", image_size=16, path=str(path), augment=True, load_size=1.25)
    assert ds.path == path and ds.transform is not None and ds[0]["A"].shape == (3, 16, 16)


# ---------------------------------------------------------------- the real commands

FAST = ["debug=fast", "model.width=8", "data.dataset.size=64", "data.image_size=16", "trainer.device=cpu",
        "data.batch_size=8"]


def test_cli_prepare_then_train_from_h5(tmp_path, ganlab):
    p = ganlab("data", "prepare", "data=shapes", "data.dataset.size=64", "data.image_size=16")
    path = tmp_path / "data" / "cache" / "shapes_16px.h5"
    assert path.is_file(), p.stdout
    assert "data.cache=h5" in p.stdout
    ds = H5Dataset(path=path)
    assert len(ds) == 64 and ds.dtype == "uint8"
    assert (_all(ds)["x"] - _all(Shapes(size=64, image_size=16))["x"]).abs().max() <= 1 / 127.5 + 1e-6

    ganlab("train", *FAST, "data=shapes", "data.cache=h5", "~data.evaluators", "hydra.run.dir=run")
    assert summary(tmp_path / "run")["status"] == "ok"


def test_cli_cache_h5_without_file(tmp_path, ganlab):
    p = ganlab("train", *FAST, "data=shapes", "data.cache=h5", "hydra.run.dir=run", check=False)
    assert p.returncode != 0
    err = " ".join(p.stderr.split())
    assert "ganlab data prepare data=shapes" in err and "shapes_16px.h5" in err
    assert not (tmp_path / "run").exists()


def test_cli_bench_loader(ganlab):
    p = ganlab("bench", "loader", "--n", "64", "--image-size", "16", "--rounds", "1")
    out = p.stdout
    rates = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells and cells[0] in ("image files", "h5 cache"):
            rates[cells[0]] = float(cells[1])
    assert set(rates) == {"image files", "h5 cache"}, out
    assert all(r > 0 for r in rates.values())
    ratio = float(out.split("h5/files ratio:")[1].split()[0])
    assert ratio == pytest.approx(rates["h5 cache"] / rates["image files"], rel=0.02)


def test_prepare_without_the_data_is_one_line_naming_the_download(ganlab, tmp_path):
    p = ganlab("data", "prepare", "data=horse2zebra", check=False)
    assert p.returncode == 2 and "ganlab data download horse2zebra" in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
