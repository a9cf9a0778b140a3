"""Every file a command writes for the user goes through the atomic writer: a failed encode or a
full disk leaves the user's previous file byte-identical, and the command says so in one line."""

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib
import pytest
import torch

from conftest import run_ganlab
from ganlab import files
from ganlab.errors import DiskFull

matplotlib.use("Agg")
TINY = ["model.width=8", "data.image_size=16", "data.dataset.size=64", "data.batch_size=8", "trainer.device=cpu",
        "trainer.log_every=1"]
OLD = b"the user's previous file \x00\xff"

# os.write fails with ENOSPC on ganlab's temp files only: the real command, a full disk at its output
FULL_DISK = textwrap.dedent("""
    import errno, os, sys
    real = os.write
    def write(fd, data):
        if ".ganlab-tmp." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)
    os.write = write
    from ganlab.cli import main
    main(sys.argv[1:])
""")


def _full_disk(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", FULL_DISK, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def _no_temps(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".ganlab-tmp." in p.name]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("atomic")
    run_ganlab("train", *TINY, "trainer.max_steps=2", "hydra.run.dir=run", cwd=cwd)
    return cwd


@pytest.mark.parametrize("name,args", [
    ("s.png", ["sample", "run/checkpoints/last.pt", "--n", "4", "--out", "{out}"]),
    ("e.json", ["eval", "run/checkpoints/last.pt", "--metrics", "fid", "--feature", "random_conv", "--n", "32",
                "--out", "{out}"]),
    ("r.html", ["report", "run", "--out", "{out}"]),
    ("c.csv", ["compare", "run", "--csv", "{out}"]),
])
def test_a_full_disk_keeps_the_users_file_whole(run, name, args):
    out = run / "mine" / name
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(OLD)
    if name == "e.json":  # the reference statistics are cached by a first eval: the disk fills at eval.json
        run_ganlab(*[a.format(out=run / "warm.json") for a in args], cwd=run)
    p = _full_disk(*[a.format(out=out) for a in args], cwd=run)
    assert p.returncode == DiskFull.exit_code, p.stderr
    assert p.stderr.startswith(f"error: no space left on device writing {out} (the previous file is kept)"), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    assert out.read_bytes() == OLD and _no_temps(run)


@pytest.mark.parametrize("out,named", [("mine", "is a folder"), ("x.xyz", "unknown image extension '.xyz'"),
                                       ("noext", "unknown image extension '(none)'")])
def test_sample_refuses_a_folder_or_an_unknown_extension(run, out, named):
    (run / "mine").mkdir(exist_ok=True)
    before = sorted(p.name for p in run.iterdir())
    p = run_ganlab("sample", "run/checkpoints/last.pt", "--out", out, cwd=run, check=False)
    assert p.returncode == 2 and f"--out {out}: {named}" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in run.iterdir()) == before


def test_sample_overwrites_the_previous_image_when_it_can(run):
    out = run / "mine" / "again.jpg"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(OLD)
    run_ganlab("sample", "run/checkpoints/last.pt", "--n", "4", "--out", str(out), cwd=run)
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG now, encoded as the extension says


def _fail_encode(*a, **k):
    raise RuntimeError("encoder broke")


@pytest.mark.parametrize("save", ["image", "figure", "gif"])
def test_a_failed_encode_or_write_keeps_the_previous_image(tmp_path, monkeypatch, save):
    import matplotlib.pyplot as plt
    import torchvision.utils
    from PIL import Image

    from ganlab.callbacks.final_samples import write_gif
    grids = tmp_path / "grids"
    grids.mkdir()
    frames = []
    for step in (1, 2):  # what the tensorboard callback logged: the GIF's frames
        files.atomic_save_image(grids / f"x_step{step:08d}.png", torch.rand(3, 8, 8))
        frames.append((step, grids / f"x_step{step:08d}.png"))
    path = tmp_path / ("a.gif" if save == "gif" else "a.png")
    path.write_bytes(OLD)
    fig = plt.figure()
    write = {"image": lambda: files.atomic_save_image(path, torch.rand(4, 3, 8, 8)),
             "figure": lambda: files.atomic_save_figure(path, fig),
             "gif": lambda: write_gif(frames, path, max_frames=4, frame_ms=100)}[save]
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(DiskFull, match=f"writing {path}"):
        write()
    monkeypatch.setattr(os, "write", real)
    monkeypatch.setattr(torchvision.utils, "save_image", _fail_encode)
    monkeypatch.setattr(fig, "savefig", _fail_encode)
    monkeypatch.setattr(Image.Image, "save", _fail_encode)
    with pytest.raises(RuntimeError, match="encoder broke"):
        write()
    plt.close(fig)
    assert path.read_bytes() == OLD and sorted(os.listdir(tmp_path)) == sorted([path.name, "grids"])


def test_image_format_follows_the_extension():
    assert files.image_format("a.PNG") == "PNG" and files.image_format("b.jpg") == "JPEG"
    for bad in ("c.xyz", "d"):
        with pytest.raises(ValueError, match="unknown image extension"):
            files.image_format(bad)


def test_a_full_disk_during_translate_keeps_the_users_outputs_whole(tmp_path):
    from torchvision.utils import save_image

    from test_translation_e2e import AGAN
    run_ganlab("train", *AGAN, "trainer.max_steps=2", "hydra.run.dir=run", cwd=tmp_path)
    (tmp_path / "in").mkdir()
    save_image(torch.rand(3, 32, 32), tmp_path / "in" / "img0.png")
    out = tmp_path / "out"
    out.mkdir()
    for name in ("img0.png", "img0_mask.png"):
        (out / name).write_bytes(OLD)
    p = _full_disk("translate", "run/checkpoints/last.pt", "in", "out", "--device", "cpu", cwd=tmp_path)
    assert p.returncode == DiskFull.exit_code and "no space left on device writing out/img0.png" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert all((out / n).read_bytes() == OLD for n in ("img0.png", "img0_mask.png")) and _no_temps(tmp_path)
