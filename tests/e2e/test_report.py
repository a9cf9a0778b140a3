"""`ganlab report`: an HTML page with embedded plots and sample grids, from fabricated and real runs."""

import base64
import io
import json
import re
from pathlib import Path

import pytest
import torch
import yaml
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import save_image

from ganlab.analysis.report import switch_step, write_report
from ganlab.analysis.runs import evenly_spaced, human_time, load_run, read_scalars
from ganlab.sample_files import sample_files

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
    summary = {"status": "ok", "step": steps, "epoch": 0, "total_steps": steps, "timings": {"wall_time_s": 125.0},
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


def test_report_end_to_end_on_a_real_run(ganlab, tmp_path, fast_run):  # a debug=fast run at tmp_path/run
    p = ganlab("report", "run", "--out", "rep/report.html")
    out = tmp_path / "rep" / "report.html"
    assert str(out.relative_to(tmp_path)) in p.stdout
    html = out.read_text()
    imgs = images(html)
    assert len(imgs) >= 3  # losses, D outputs, a sample grid at least
    assert all(i.startswith(PNG_SIGNATURE) for i in imgs)
    assert "train/loss_d" in html and "Losses" in html and "D outputs per source" in html
    assert "<figcaption>final_samples.png</figcaption>" in html  # the run's last grid, 8 x 8


def test_report_of_a_csv_only_run_plots_from_metrics_csv(tmp_path):
    import shutil
    run = make_run(tmp_path)
    scalars = read_scalars(run)
    shutil.rmtree(run / "tb")
    rows = ["step,metric,value"] + [f"{st},{tag},{v!r}" for tag, pts in scalars.items() for st, v in pts]
    (run / "metrics.csv").write_text("\n".join(rows) + "\n3,train/lo")  # and a torn last row
    assert read_scalars(run) == scalars
    assert len(images(write_report(run).read_text())) == 5 + 8


IMG_TAG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" class="([^"]+)" '
                     r'width="(\d+)" height="(\d+)"')


def test_images_at_native_size_or_a_whole_upscale_with_square_pixels(tmp_path):
    from PIL import Image
    run = make_run(tmp_path, n_samples=2)
    save_image(torch.rand(64, 3, 32, 32), run / "samples" / "big_step00000004.png", nrow=8)  # 274 px wide
    tags = IMG_TAG.findall(write_report(run).read_text())
    assert len(tags) == 5 + 3
    for data, cls, w, h in tags:
        nw, nh = Image.open(io.BytesIO(base64.b64decode(data))).size
        k = int(w) // nw
        assert (int(w), int(h)) == (nw * k, nh * k) and k >= 1  # a whole factor, aspect kept
        assert ("pixelated" in cls) == (k > 1)
        if "plot" in cls or nw >= 250:
            assert k == 1  # curves and large grids at their native size
        else:
            assert nw * k >= 250  # a 22 px grid is shown big enough to see
    assert "190px" not in write_report(run).read_text()


def test_long_names_and_errors_wrap(tmp_path):
    run = make_run(tmp_path)
    s = json.loads((run / "summary.json").read_text())
    s["error"] = "RuntimeError: " + "x" * 400
    (run / "summary.json").write_text(json.dumps(s))
    page = write_report(run).read_text()
    css = page[page.index("<style>") + 7:page.index("</style>")]
    rules = dict(r.split("{", 1) for r in css.replace("\n", "").split("}") if "{" in r)
    wraps = [sel for sel, body in rules.items() if "overflow-wrap:anywhere" in body]
    assert any("h1" in sel.split(",") for sel in wraps)  # a long run name breaks instead of overflowing
    assert "white-space:pre-wrap" in rules["pre"] and "pre" in wraps  # so does an error's text
    assert f"<pre>{s['error']}</pre>" in page


def test_config_table_shows_the_pieces_and_tuned_defaults_that_ran(tmp_path):
    run = make_run(tmp_path)
    cfg = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())
    cfg["tricks"] = {"perfect_g": {"_target_": "ganlab.algorithms.tricks.PerfectG", "switch_epoch": 150,
                                   "sigma": 0.1}, "off": None}
    cfg["trainer"] |= {"max_steps": 10000, "eval_every": 500}
    cfg["schedule"] |= {"lr_policy": {"_target_": "ganlab.training.build.LinearDecay", "decay_start": 0.5}}
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["trainer.eval_every=500"]))
    s = json.loads((run / "summary.json").read_text())
    s["config_groups"] = {"tricks": "none", "tuned": "conf/tuned/mlp_ring8.yaml"}
    (run / "summary.json").write_text(json.dumps(s))
    page = write_report(run).read_text()
    config = page[page.index("<h2>Config</h2>"):page.index("<h2>Results</h2>")]
    assert "<td>tricks.perfect_g</td><td>PerfectG(switch_epoch=150, sigma=0.1)</td>" in config
    assert "tricks.off" not in config
    assert "<td>tuned</td><td>conf/tuned/mlp_ring8.yaml</td>" in config
    assert "<td>schedule.lr_policy (tuned)</td><td>LinearDecay(decay_start=0.5)</td>" in config
    assert "<td>trainer.max_steps (tuned)</td><td>10000</td>" in config
    assert "<td>trainer.eval_every (tuned)</td><td>500 (overridden)</td>" in config


def test_translation_panels_name_their_columns():
    from torchvision.utils import make_grid

    from ganlab.algorithms.panels import label_columns
    grid = make_grid(torch.rand(8, 3, 64, 64), nrow=4)
    labels = [("input A", "A"), ("output B", "out"), ("cycle", "cyc"), ("identity B", "id")]
    out = label_columns(grid, labels)
    strip = out.shape[1] - grid.shape[1]
    assert out.shape[2] == grid.shape[2] and 10 < strip < 30
    assert torch.equal(out[:, strip:], grid)  # the panel itself is untouched
    col = (grid.shape[2] - 2) // 4
    for i in range(4):  # ink in every column's label, none over the gaps between columns
        assert (out[:, :strip, 2 + i * col:2 + (i + 1) * col - 2] < 0.5).any()
    small = label_columns(make_grid(torch.rand(4, 3, 16, 16), nrow=4), labels)
    assert small.shape[1] > 18  # 16 px tiles get the short names, still drawn


def test_single_point_series_become_a_table_of_values(tmp_path):
    run = make_run(tmp_path, steps=4)  # val/fid logged once (step 5 never comes): one point
    w = SummaryWriter(log_dir=str(run / "tb"))
    w.add_scalar("val/kid", 0.0123, 4)
    w.close()
    page = write_report(run).read_text()
    validation = page.split("<h3>Validation metrics</h3>", 1)[1].split("<h3>", 1)[0]
    assert "<img" not in validation  # no chart of single dots
    assert "<td>val/kid</td><td>4</td><td>0.0123</td>" in validation
    losses = page.split("<h3>Losses</h3>", 1)[1].split("<h3>", 1)[0]
    assert "<img" in losses and "one value" not in losses  # 4 points: still a chart
