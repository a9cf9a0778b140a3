"""Unpaired translation end to end: aNet and CycleGAN resume exactly (image pool and the G-then-D
phase order included), translate writes one output (and one mask) per input image."""

from pathlib import Path

import pytest
import torch
from torchvision.utils import save_image

from conftest import checkpoint_tensors, summary, train_each

AGAN = ["model=agan", "data=toyzebra", "debug=fast", "model.width=8", "model.discriminator.width=8",
        "data.image_size=32", "data.dataset.size=16", "data.test_dataset.size=8", "data.batch_size=2",
        "model.algorithm.pool_size=3", "trainer.device=cpu", "callbacks.tensorboard.sample_every_n_steps=4"]
CYCLEGAN = ["model=cyclegan", "loss=lsgan_cyclegan", "model.generator.n_blocks=1",
            *(o for o in AGAN if not o.startswith("model="))]


@pytest.fixture(scope="module")
def agan_run(tmp_path_factory) -> Path:
    """One aNet run for the tests that only read it (translate, the sample grids)."""
    return train_each(tmp_path_factory.mktemp("agan"), {"run": AGAN}, []) / "run"


@pytest.mark.parametrize("model", [AGAN, CYCLEGAN], ids=["agan", "cyclegan"])
def test_resume_is_bitwise_with_image_pool(ganlab, tmp_path, model):
    base = [*model, "trainer.max_steps=6"]
    ganlab("train", *base, "hydra.run.dir=straight")
    ganlab("train", *base, "trainer.stop_at_step=3", "hydra.run.dir=resumed", check=False)
    ganlab("train", f"resume={tmp_path / 'resumed'}")
    assert summary(tmp_path / "resumed")["step"] == 6
    a = checkpoint_tensors(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = checkpoint_tensors(tmp_path / "resumed" / "checkpoints" / "last.pt")
    pool = torch.load(tmp_path / "straight" / "checkpoints" / "last.pt", weights_only=True)["step_state"]["pools"]
    assert pool["A"]["images"].shape[0] == 3  # the pool is full and travels in the checkpoint
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    ca = torch.load(tmp_path / "straight" / "checkpoints" / "last.pt", weights_only=True)["step_state"]
    cb = torch.load(tmp_path / "resumed" / "checkpoints" / "last.pt", weights_only=True)["step_state"]
    assert torch.equal(ca["pools"]["B"]["images"], cb["pools"]["B"]["images"])


def test_translate_writes_one_output_and_mask_per_input(ganlab, tmp_path, agan_run):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for i in range(3):
        save_image(torch.rand(3, 40, 48), src / f"img{i}.jpg")
    save_image(torch.rand(1, 32, 32), src / "sub" / "gray.png")
    p = ganlab("translate", str(agan_run), str(src), "out",  # a run dir: its best.pt (else last.pt)
               "--direction", "BtoA", "--device", "cpu")
    outs = sorted(str(q.relative_to(tmp_path / "out")) for q in (tmp_path / "out").rglob("*.png"))
    assert outs == ["img0.png", "img0_mask.png", "img1.png", "img1_mask.png", "img2.png", "img2_mask.png",
                    "sub/gray.png", "sub/gray_mask.png"]
    assert "4 images BtoA" in p.stdout


def test_translate_bad_input_is_a_clear_error(ganlab, tmp_path, agan_run):
    ckpt = str(agan_run / "checkpoints" / "last.pt")
    p = ganlab("translate", ckpt, "nowhere", "o", check=False)
    assert p.returncode == 2 and "nowhere" in p.stderr
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.png").write_bytes(b"not an image")
    p = ganlab("translate", ckpt, "in", "o", check=False)
    assert p.returncode == 2 and "x.png" in p.stderr and not (tmp_path / "o").exists()
    p = ganlab("translate", ckpt, "in", "o",
               "--direction", "sideways", check=False)
    assert p.returncode == 2 and "sideways" in p.stderr and not (tmp_path / "o").exists()


def test_agan_samples_show_every_panel(agan_run):
    grids = sorted(Path(agan_run / "samples").glob("AtoB_step*.png"))
    assert grids, "no A->B panel grid written"
    from PIL import Image
    w, h = Image.open(grids[-1]).size
    assert w > 5 * h / 4  # six panels per row (input|output|mask|raw|reconstruction|identity), 4 rows
