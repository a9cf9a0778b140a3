"""h5 cache: round trip in the dataset's own format, atomic writes, lazy per-process handles."""

import pickle

import h5py
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from ganlab.data.errors import DataError
from ganlab.data.h5cache import H5Dataset, prepare
from ganlab.data.synthetic import Mixture2D, Shapes
from ganlab.data.toyzebra import ToyZebra
from ganlab.data.transforms import augment_tensor_pipeline


def _check_round_trip(ds, h5, tol: float):
    assert len(h5) == len(ds)
    for i in range(len(ds)):
        a, b = ds[i], h5[i]
        assert a.keys() == b.keys()
        for k in a:
            assert b[k].dtype == a[k].dtype and b[k].shape == a[k].shape, k
            assert (b[k] - a[k]).abs().max() <= tol, k


@pytest.mark.parametrize("dtype,tol", [("uint8", 1 / 127.5 + 1e-6), ("float16", 2e-3)])
def test_round_trip_images_and_labels(tmp_path, dtype, tol):
    ds = Shapes(size=30, image_size=16)
    path = prepare(ds, tmp_path / "shapes.h5", dtype=dtype, batch=7, source_config={"size": 30})
    h5 = H5Dataset(path=path)
    _check_round_trip(ds, h5, tol)
    assert [int(h5[i]["y"]) for i in range(30)] == [int(ds[i]["y"]) for i in range(30)]  # exact labels
    assert h5.dtype == dtype and h5.source.endswith("synthetic.Shapes") and h5.source_config == {"size": 30}
    with h5py.File(path) as f:
        assert f["x"].dtype == dtype and f["x"].chunks == (1, 3, 16, 16)  # one sample per chunk
        assert f.attrs["length"] == 30


def test_round_trip_unpaired_with_exact_masks(tmp_path):
    ds = ToyZebra(size=9, image_size=16)
    h5 = H5Dataset(path=prepare(ds, tmp_path / "tz.h5"))
    _check_round_trip(ds, h5, 1 / 127.5 + 1e-6)
    assert all(torch.equal(h5[i]["mask_B"], ds[i]["mask_B"]) for i in range(9))
    assert set(h5.as_tensors()) == {"A", "B", "mask_A", "mask_B"}


def test_points_kept_exact(tmp_path):
    ds = Mixture2D(modes="ring8", size=50)
    h5 = H5Dataset(path=prepare(ds, tmp_path / "ring.h5", dtype="float16"))
    _check_round_trip(ds, h5, 0.0)  # std 0.01 data must not be rounded
    assert torch.equal(h5.as_tensors()["x"], ds.as_tensors()["x"])


def test_float16_is_half_of_float32_and_uint8_a_quarter(tmp_path):
    ds = Shapes(size=64, image_size=32)
    sizes = {}
    for dtype in ("uint8", "float16"):
        with h5py.File(prepare(ds, tmp_path / f"{dtype}.h5", dtype=dtype)) as f:
            sizes[dtype] = f["x"].id.get_storage_size()
    assert sizes["float16"] == 64 * 3 * 32 * 32 * 2 and sizes["uint8"] == 64 * 3 * 32 * 32


class _FailsAt(Dataset):
    def __init__(self, n: int, bad: int):
        self.inner, self.n, self.bad = Shapes(size=n, image_size=8), n, bad

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            raise DataError(f"cannot read image {i}")
        return self.inner[i]


def test_atomic_write(tmp_path):
    path = tmp_path / "cache" / "x.h5"
    with pytest.raises(DataError):
        prepare(_FailsAt(20, 13), path, batch=4)
    assert not path.exists() and list(path.parent.iterdir()) == []
    prepare(Shapes(size=4, image_size=8), path)  # a good file, then a failed rewrite keeps it intact
    with pytest.raises(DataError):
        prepare(_FailsAt(20, 13), path, batch=4)
    assert len(H5Dataset(path=path)) == 4 and list(path.parent.iterdir()) == [path]


def test_bad_arguments_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="uint8 or float16"):
        prepare(Shapes(size=2), tmp_path / "x.h5", dtype="float32")
    with pytest.raises(DataError, match="ganlab data prepare"):
        H5Dataset(path=tmp_path / "absent.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(DataError, match="not a ganlab h5 cache"):
        H5Dataset(path=tmp_path / "junk.h5")


def test_pickles_for_workers_and_loads_in_a_loader(tmp_path):
    h5 = H5Dataset(path=prepare(Shapes(size=12, image_size=8), tmp_path / "s.h5"))
    h5[0]  # opens the handle in this process
    clone = pickle.loads(pickle.dumps(h5))  # what DataLoader workers receive
    assert clone._f is None and torch.equal(clone[3]["x"], h5[3]["x"])
    batch = next(iter(DataLoader(h5, batch_size=4)))
    assert batch["x"].shape == (4, 3, 8, 8) and batch["y"].dtype == torch.int64


def test_transform_runs_after_loading(tmp_path):
    path = prepare(ToyZebra(size=4, image_size=16), tmp_path / "tz.h5")
    h5 = H5Dataset(path=path, transform=augment_tensor_pipeline(image_size=16))
    torch.manual_seed(0)
    s = h5[1]
    assert s["A"].shape == (3, 16, 16) and s["mask_A"].shape == (1, 16, 16)
    torch.manual_seed(0)
    assert torch.equal(s["A"], h5[1]["A"])  # driven by the global RNG the loader seeds
    with pytest.raises(ValueError, match="transform"):
        h5.as_tensors()
