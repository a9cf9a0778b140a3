"""`ganlab report`: an HTML page with embedded plots and sample grids, from fabricated and real runs."""

import base64
import json
import re
from pathlib import Path

import pytest
import torch
import yaml
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import save_image

from ganlab.analysis.report import switch_step, write_report
from ganlab.analysis.runs import evenly_spaced, human_time, load_run, read_scalars, sample_files

IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_run(root: Path, *, steps: int = 20, n_samples: int = 10, switch: int | None = 10) -> Path:
    """A run dir like `ganlab train` writes: events, samples, config, overrides, summary."""
    run = root / "12-00-00_loss=hinge,seed=3"
    (run / ".hydra").mkdir(parents=True)
    cfg = {"model": {"name": "dcgan", "discriminator": {"name": "dcgan"}}, "loss": {"name": "hinge"},
           "data": {"name": "shapes"}, "schedule": {"name": "default"}, "experiment": "perfect_g", "seed": 3,
           "trainer": {"max_steps": steps}}
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["loss=hinge", "seed=3", "trainer.device=cpu"]))
    w = SummaryWriter(log_dir=str(run / "tb"))
    for s in range(1, steps + 1):
        for tag, v in {"train/loss_d": 1 / s, "train/loss_g": 2 - 1 / s, "train/d_real": 0.9, "train/d_fake": 0.1,
                       "train/d_on_noisy_real": 0.2, "train/grad_norm_d": 1.0, "train/lr_d": 2e-4}.items():
            w.add_scalar(tag, v, s)
        if s % 5 == 0:
            w.add_scalar("val/fid", 100 / s, s)
    w.close()
    (run / "samples").mkdir()
    for i in range(n_samples):
        save_image(torch.rand(4, 3, 8, 8), run / "samples" / f"fake_step{(i + 1) * 2:08d}.png", nrow=2)
    events = [{"step": 7, "epoch": 0, "kind": "spike", "message": "loss_d spiked <x>", "value": 3.5}]
    if switch is not None:
        events.append({"step": switch, "epoch": 0, "kind": "switch", "message": "switched"})
    summary = {"status": "ok", "step": steps, "epoch": 0, "total_steps": steps, "wall_time_s": 125.0,
               "metrics": {"train/loss_d": 0.05, "val/fid": 5.0}, "events": events,
               "best": {"monitor": "val/fid", "mode": "min", "value": 5.0, "step": steps},
               "protocols": {"val/fid": "test features"}, "run_dir": str(run)}
    if switch is not None:
        summary["phases"] = {"switch_step": switch, "before": {"train/d_real": 0.9},
                             "after": {"train/d_real": 0.85}}
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in IMG.findall(html)]


def test_report_has_plots_samples_config_and_events(tmp_path):
    run = make_run(tmp_path)
    out = write_report(run)
    assert out == run / "report.html"
    html = out.read_text()
    imgs = images(html)
    # losses, D outputs, val metrics, grad norms, other scalars (lr) + 8 of the 10 sample grids
    assert len(imgs) == 5 + 8
    assert all(i.startswith(PNG_SIGNATURE) for i in imgs)
    assert html.count("<figcaption>step ") == 8
    assert "step 2<" in html and "step 20<" in html  # first and last grid are kept
    for text in ("12-00-00_loss=hinge,seed=3", "perfect_g", "hinge", "dcgan", "spike", "loss_d spiked &lt;x&gt;",
                 "Before / after the switch (step 10)", "2m05s", "val/fid"):
        assert text in html, text
    assert "http://" not in html and "https://" not in html and "<script" not in html  # self-contained


def test_report_out_path_and_partial_run(tmp_path):
    run = make_run(tmp_path, switch=None)
    (run / "summary.json").unlink()  # a run still going (or killed hard): only tb/ and samples/
    out = write_report(run, out=tmp_path / "sub" / "r.html")
    html = out.read_text()
    assert out.is_file() and not (run / "report.html").exists()
    assert len(images(html)) == 13 and "No flagged events" in html


def test_not_a_run_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        write_report(tmp_path)


def test_scalars_of_a_resumed_run_keep_the_latest_value(tmp_path):
    w = SummaryWriter(log_dir=str(tmp_path / "tb"))
    for s in range(1, 6):
        w.add_scalar("train/loss_d", 1.0, s)
    w.close()
    w = SummaryWriter(log_dir=str(tmp_path / "tb"))  # resumed from a checkpoint at step 3
    for s in range(4, 8):
        w.add_scalar("train/loss_d", 2.0, s)
    w.close()
    pts = read_scalars(tmp_path)["train/loss_d"]
    assert [s for s, _ in pts] == list(range(1, 8))
    assert [v for _, v in pts] == [1.0] * 3 + [2.0] * 4


def test_helpers(tmp_path):
    assert evenly_spaced(list(range(20)), 8)[0] == 0 and evenly_spaced(list(range(20)), 8)[-1] == 19
    assert len(evenly_spaced(list(range(20)), 8)) == 8 and evenly_spaced([1, 2], 8) == [1, 2]
    assert human_time(4.25) == "4.2s" and human_time(3 * 3600 + 120) == "3h02m"
    assert human_time(100230) == "1d03h50m"
    assert switch_step({"events": [{"step": 4, "kind": "switch"}]}) == 4
    assert switch_step({"phases": {"switch_step": 9}, "events": []}) == 9 and switch_step({}) is None
    run = make_run(tmp_path, n_samples=3)
    assert [s for s, _ in sample_files(run)["fake"]] == [2, 4, 6]
    r = load_run(run)
    assert r.overrides == {"loss": "hinge", "seed": "3"} and r.status == "ok" and r.seed == "3"


def test_report_command_errors(ganlab, tmp_path):
    def err(p):  # rich wraps long lines
        return " ".join(p.stderr.split())
    p = ganlab("report", str(tmp_path / "nowhere"), check=False)
    assert p.returncode == 2 and "nowhere" in err(p) and "does not exist" in err(p)
    (tmp_path / "empty").mkdir()
    p = ganlab("report", "empty", check=False)
    assert p.returncode == 2 and "empty is not a run directory (no summary.json and no tb/" in err(p)
    p = ganlab("report", check=False)
    assert p.returncode == 2 and "Missing argument 'RUN_DIR'" in err(p) and "ganlab report --help" in err(p)


def test_report_end_to_end_on_a_real_run(ganlab, tmp_path):
    ganlab("train", "debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=64",
           "trainer.device=cpu", "hydra.run.dir=run")
    p = ganlab("report", "run", "--out", "rep/report.html")
    out = tmp_path / "rep" / "report.html"
    assert str(out.relative_to(tmp_path)) in p.stdout
    html = out.read_text()
    imgs = images(html)
    assert len(imgs) >= 3  # losses, D outputs, a sample grid at least
    assert all(i.startswith(PNG_SIGNATURE) for i in imgs)
    assert "train/loss_d" in html and "Losses" in html and "D outputs per source" in html
