"""Real-data configs through the real `ganlab train`: image folders and horse2zebra on small
fixtures made here. Bad data stops with a message naming what to fix, and a run that never
started leaves no run directory behind."""

from pathlib import Path

import numpy as np
from PIL import Image

from conftest import summary

TINY = ["debug=fast", "model.width=8", "data.image_size=16", "trainer.device=cpu", "data.num_workers=0",
        "~data.evaluators"]


def _images(folder: Path, n: int, *, size=(16, 16), seed=0, ext="png") -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        w, h = size
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{i:03d}.{ext}")
    return folder


def _flat(text: str) -> str:
    return " ".join(text.split())  # rich wraps long error lines


def test_folder_missing_root(ganlab, tmp_path):
    missing = tmp_path / "no_such_images"
    p = ganlab("train", *TINY, "data=folder", f"data.root={missing}", "data.batch_size=4",
               "hydra.run.dir=run", check=False)
    assert p.returncode != 0
    err = _flat(p.stderr)
    assert f"{missing} not found" in err and "data.root" in err
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "run").exists()


def test_folder_with_corrupt_image(ganlab, tmp_path):
    """Every image is checked when the run starts: a bad file is named in one line (exit 2) and
    no run directory is created."""
    root = _images(tmp_path / "imgs", 11, size=(20, 18))
    bad = root / "005_bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n but then garbage" * 8)
    p = ganlab("train", *TINY, "data=folder", f"data.root={root}", "data.batch_size=4",
               "hydra.run.dir=run", check=False)
    assert p.returncode == 2
    err = _flat(p.stderr)
    assert "unreadable image" in err and str(bad) in err and "skip_unreadable" in err
    assert not (tmp_path / "run").exists()


def test_folder_trains(ganlab, tmp_path):
    root = _images(tmp_path / "imgs", 10, size=(24, 20), ext="jpg")
    ganlab("train", *TINY, "data=folder", f"data.root={root}", "data.batch_size=4", "hydra.run.dir=run")
    assert summary(tmp_path / "run")["status"] == "ok"


H2Z = ["model=agan", "data=horse2zebra", "data.image_size=16", "model.width=8", "model.discriminator.width=8",
       # 16 px through PatchGAN's default 3 stride-2 layers leaves 1x1 maps, which instance norm rejects
       "model.discriminator.n_layers=2",
       "debug=fast", "data.batch_size=2", "data.num_workers=0", "trainer.device=cpu", "~data.evaluators"]


def test_horse2zebra_layout_trains(ganlab, tmp_path):
    root = tmp_path / "h2z"
    for i, (name, n) in enumerate({"trainA": 4, "trainB": 5, "testA": 2, "testB": 3}.items()):
        _images(root / name, n, size=(16, 16), seed=i, ext="jpg")
    p = ganlab("train", *H2Z, f"data.root={root}", "hydra.run.dir=run")
    run = tmp_path / "run"
    s = summary(run)
    assert s["status"] == "ok" and s["step"] == 4, p.stdout
    assert (run / "checkpoints" / "last.pt").is_file()
    assert any((run / "samples").glob("AtoB_*.png"))


def test_horse2zebra_missing_root_says_download(ganlab, tmp_path):
    root = tmp_path / "h2z"
    p = ganlab("train", *H2Z, f"data.root={root}", "hydra.run.dir=run", check=False)
    assert p.returncode != 0
    err = _flat(p.stderr)
    assert f"{root} not found" in err
    assert f"ganlab data download horse2zebra --root {root}" in err  # the option `data download` has
    assert not (tmp_path / "run").exists()


def test_horse2zebra_missing_domain_folder(ganlab, tmp_path):
    root = tmp_path / "h2z"
    _images(root / "trainA", 3)
    p = ganlab("train", *H2Z, f"data.root={root}", "hydra.run.dir=run", check=False)
    assert p.returncode != 0
    assert f"{root / 'trainB'} not found" in _flat(p.stderr)
    assert not (tmp_path / "run").exists()
