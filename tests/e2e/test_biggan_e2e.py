"""End-to-end: `ganlab train model=biggan` (tiny), its exact resume, `ganlab sample` one row per class,
and the refusal of data without classes."""

import pytest
import torch
from PIL import Image

from conftest import checkpoint_tensors, summary

TINY = ["model=biggan", "data.image_size=16", "model.width=4", "model.z_dim=12", "model.embed_dim=8",
        "model.attention_res=8", "data.dataset.size=32", "data.batch_size=8", "trainer.device=cpu",
        "trainer.log_every=1", "~data.evaluators"]


def test_biggan_trains_resumes_bitwise_and_samples_one_row_per_class(ganlab, tmp_path):
    base = [*TINY, "trainer.max_steps=6"]  # 4 steps per epoch: the resume crosses an epoch
    ganlab("train", *base, "hydra.run.dir=straight")
    s = summary(tmp_path / "straight")
    assert s["status"] == "ok" and s["step"] == 6
    m = s["metrics"]
    assert m["train/ortho"] > 0 and m["train/lr_g"] == pytest.approx(1e-4) and m["train/lr_d"] == pytest.approx(4e-4)
    ganlab("train", *base, "trainer.stop_at_step=3", "hydra.run.dir=resumed", check=False)
    assert summary(tmp_path / "resumed")["status"] == "interrupted"
    ganlab("train", f"resume={tmp_path / 'resumed'}")
    assert summary(tmp_path / "resumed")["status"] == "ok"
    a = checkpoint_tensors(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = checkpoint_tensors(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert a.keys() == b.keys() and any(k.startswith("modules.G_ema") for k in a)  # EMA of G on
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"

    p = ganlab("sample", str(tmp_path / "straight"), "--out", "grid.png", "--device", "cpu")
    assert "96 samples" in p.stdout  # 12 shapes classes x 8
    w, h = Image.open(tmp_path / "grid.png").size  # make_grid: 2 px padding around 16 px cells
    assert (w, h) == (2 + 8 * 18, 2 + 12 * 18)


def test_biggan_without_classes_is_refused_before_a_run_dir(ganlab, tmp_path):
    p = ganlab("train", *TINY, "data.num_classes=0", "hydra.run.dir=run", check=False)
    assert p.returncode == 2 and "data.num_classes" in p.stderr and "data=shapes" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
    p = ganlab("train", "model=biggan", "data=ring8", "hydra.run.dir=run", check=False)
    assert p.returncode == 2 and "data=" in p.stderr and not (tmp_path / "run").exists()
