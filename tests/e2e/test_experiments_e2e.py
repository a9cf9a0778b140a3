"""The internship experiments end to end with the real `ganlab` command: every preset runs, a
perfect-G run records D's outputs around the switch and the loss spike at it, collapsing runs
raise the health flags and a healthy one raises none, and `ganlab report` draws a finished run.

Several runs share one process (Hydra `-m` sweeps): importing torch costs more than the runs."""

import base64
import json
import re
from pathlib import Path

import pytest

from conftest import run_ganlab, summary

CONF = Path(__file__).resolve().parents[2] / "conf"
PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
TINY = ["model.width=8", "data.image_size=16", "trainer.device=cpu"]
SWEEP = ["hydra.sweep.subdir=${hydra.job.num}"]  # run dirs named by overrides get too long here
SWITCH = 40  # perfect-G switch step (index of the first D step that sees x + noise as "generated")
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" class="(\w+)[^"]*" [^>]*alt="([^"]*)"')
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sweep_runs(root: Path, n: int) -> list[Path]:
    runs = [root / str(i) for i in range(n)]
    assert all((r / "summary.json").is_file() for r in runs), sorted(p.name for p in root.iterdir())
    return runs


def overrides(run: Path) -> list[str]:
    return (run / ".hydra" / "overrides.yaml").read_text()


def kinds(s: dict) -> list[str]:
    return [e["kind"] for e in s["events"]]


# -- (a) every preset, end to end, on embedded data with the fast debug config ---------------------

def preset_data(name: str) -> str:
    """The data a preset trains on by default (following `defaults: - <parent preset>`)."""
    text = (CONF / "experiment" / f"{name}.yaml").read_text()
    own = re.search(r"override /data: (\w+)", text)
    return own.group(1) if own else preset_data(re.search(r"^  - (\w+)\s*$", text, re.M).group(1))


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """Image presets (data=folder by default) on embedded `shapes`, tiny; the 2D presets on their
    own embedded data. One sweep each, the fast debug config."""
    root = tmp_path_factory.mktemp("presets")
    image = [n for n in PRESETS if preset_data(n) == "folder"]
    points = [n for n in PRESETS if n not in image]
    assert {"perfect_g", "perfect_g_short", "perfect_g_noisy", "long_run", "lying_negative",
            "lying_positive"} <= set(image)
    runs = {}
    for group, extra in ((image, ["data=shapes", *TINY, "data.dataset.size=64", "data.evaluators.fid_proxy.n_samples=128",
                                 "data.evaluators.fid_proxy.kid_subset_size=64"]),
                         (points, ["trainer.device=cpu"])):
        if not group:
            continue
        sweep = f"sweep_{len(runs)}"
        run_ganlab("train", "-m", f"experiment={','.join(group)}", "debug=fast", *extra,
                   f"hydra.sweep.dir={sweep}", *SWEEP, cwd=root)
        runs |= dict(zip(group, sweep_runs(root / sweep, len(group))))
    return runs


def test_every_preset_runs_end_to_end(presets):
    assert sorted(presets) == PRESETS
    for name, run in presets.items():
        s = summary(run)
        assert f"experiment={name}" in overrides(run)
        assert s["status"] == "ok" and s["step"] == 4, (name, s.get("error"))
        assert (run / "checkpoints" / "last.pt").is_file() and any((run / "samples").glob("*.png")), name
        assert any(k.startswith("val/") for k in s["metrics"]), name
        if preset_data(name) == "folder":  # (packed 2D Ds report no per-source means)
            assert "train/d_on_real" in s["metrics"], name
        if name.startswith(("perfect_g", "lying")):
            assert "phases" in s, name  # the switch statistics are on for every intervention
        if name.startswith("perfect_g"):  # the preset's piece, said at start and recorded (not `none`)
            assert s["config_groups"]["tricks"] == "perfect_g", name
            assert "tricks=perfect_g" in (run / "train.log").read_text(), name
    assert summary(presets["lying_negative"])["config_groups"]["tricks"] == "stabilize+lying"
    assert summary(presets["long_run"])["config_groups"]["tricks"] == "stabilize"
    # the lying presets switch on from epoch 0: everything is "after", with the injected sources
    neg = summary(presets["lying_negative"])["phases"]
    assert neg["switch_step"] == 0 and not neg["before"] and "train/d_on_noisy_real" in neg["after"]
    pos = summary(presets["lying_positive"])["phases"]
    assert pos["switch_step"] == 0 and "train/d_on_injected" in pos["after"]


# -- (b) perfect G on shapes: D's outputs before/after the switch and the loss spike at it --------

@pytest.fixture(scope="module")
def perfect_g(tmp_path_factory):
    """D is made strong before the switch (lr_d 1e-3: D(x) ~0.9, D(G(z)) ~0.2 at step 40), so
    x + noise arriving as "generated" makes its loss jump (~0.05 -> ~4). Run 1 has a much higher
    D learning rate (1e-2): D wins outright within a few steps, the collapse flags must show."""
    root = tmp_path_factory.mktemp("perfect_g")
    p = run_ganlab("train", "-m", "experiment=perfect_g", "data=shapes", *TINY, "data.dataset.size=256",
                   "data.batch_size=32", "trainer.max_steps=60", "trainer.max_epochs=0", "trainer.log_every=1",
                   f"tricks.perfect_g.switch_step={SWITCH}", "schedule.lr_d=1e-3,1e-2", "seed=0",
                   "~data.evaluators", "callbacks.checkpoint.monitor=train/loss_g",
                   "callbacks.tensorboard.sample_every_n_steps=20", "hydra.sweep.dir=sweep", *SWEEP, cwd=root)
    return sweep_runs(root / "sweep", 2), p


def test_perfect_g_records_switch_phases_and_spike(perfect_g):
    (run, _), p = perfect_g
    s = summary(run)
    assert s["status"] == "ok" and s["step"] == 60
    ph = s["phases"]
    assert ph["switch_step"] == SWITCH
    before, after = ph["before"], ph["after"]
    # before: D separates real from generated; after: D only sees real and x + noise
    assert before["train/d_on_real"] > 0.8 and before["train/d_on_fake"] < 0.35
    assert "train/d_on_noisy_real" not in before
    assert "train/d_on_noisy_real" in after and "train/d_on_real" in after
    assert "train/d_on_fake" not in after  # no stale pre-switch value counted after it
    assert after["train/loss_d"] > before["train/loss_d"]
    # events carry run.step (steps done): the step at index SWITCH is reported as SWITCH + 1
    switch = [e for e in s["events"] if e["kind"] == "switch"]
    assert len(switch) == 1 and switch[0]["step"] == SWITCH + 1
    spikes = [e for e in s["events"] if e["kind"] == "loss_spike" and e["metric"] == "train/loss_d"]
    assert spikes, s["events"]
    assert SWITCH + 1 <= spikes[0]["step"] <= SWITCH + 3
    assert all(e["step"] > SWITCH for e in spikes)  # nothing flagged as a spike before the switch
    assert len(spikes) == 1  # once per excursion, not once per step of it
    # the flag also reaches the console/log and TensorBoard's text events
    assert "loss_spike" in p.stderr + p.stdout and "loss_spike" in (run / "train.log").read_text()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    assert any(t.startswith("events/loss_spike") for t in acc.Tags().get("tensors", []))
    scalars = acc.Tags()["scalars"]
    assert {"train/d_on_real", "train/d_on_fake", "train/d_on_noisy_real"} <= set(scalars)


# -- (c) collapse flags: raised by collapsing configs, none on a healthy run ----------------------

COLLAPSE_FLAGS = {"d_perfect", "d_loss_vanishing", "diversity_drop"}


@pytest.fixture(scope="module")
def ring8(tmp_path_factory):
    """MLP GAN on ring8, default health thresholds (diversity checked every 10 steps): the default
    schedule (healthy: D accuracy ~0.6-0.9, sample diversity 0.5-1.5x real after 20 steps) against a
    frozen G (lr_g=0: its samples stay on one point, diversity 0.02x real, D right on every sample)."""
    root = tmp_path_factory.mktemp("ring8")
    run_ganlab("train", "-m", "model=mlp", "data=ring8", "trainer.device=cpu", "trainer.max_steps=60",
               "trainer.log_every=1", "schedule.lr_g=2e-4,0", "~data.evaluators",
               "callbacks.checkpoint.monitor=train/loss_g", "callbacks.health.diversity_every=10",
               "hydra.sweep.dir=sweep", *SWEEP, cwd=root)
    return sweep_runs(root / "sweep", 2)


def test_healthy_default_run_raises_no_flag(ring8):
    healthy = ring8[0]
    assert "schedule.lr_g=0.0002" in overrides(healthy)
    s = summary(healthy)
    assert s["status"] == "ok" and s["events"] == []


def test_frozen_generator_raises_collapse_flags(ring8):
    frozen = ring8[1]
    assert "schedule.lr_g=0\n" in overrides(frozen)
    s = summary(frozen)
    assert {"d_perfect", "diversity_drop"} <= set(kinds(s)), s["events"]
    div = next(e for e in s["events"] if e["kind"] == "diversity_drop")
    assert div["step"] == 30  # 3 checks in a row (every 10 steps) below 0.3x real diversity


def test_much_higher_d_learning_rate_raises_collapse_flags(perfect_g):
    (base, strong_d), _ = perfect_g
    assert "schedule.lr_d=0.01" in overrides(strong_d)
    pre_switch = [e for e in summary(strong_d)["events"] if e["step"] <= SWITCH]
    assert {"d_perfect", "d_loss_vanishing"} <= {e["kind"] for e in pre_switch}, pre_switch
    # the milder run's D never gets its loss under the threshold
    assert "d_loss_vanishing" not in kinds(summary(base))


# -- (d) the report of a real finished run: plots embedded as images -----------------------------

def test_report_of_a_finished_perfect_g_run_embeds_its_plots(perfect_g):
    (run, _), _ = perfect_g
    p = run_ganlab("report", str(run), cwd=run.parent)
    out = run / "report.html"
    assert str(out) in p.stdout
    html = out.read_text()
    imgs = IMG.findall(html)
    plots = {alt: base64.b64decode(data) for data, cls, alt in imgs if cls == "plot"}
    assert {"Losses", "D outputs per source", "Gradient norms"} <= set(plots), list(plots)
    assert all(png.startswith(PNG_SIGNATURE) and len(png) > 1000 for png in plots.values())
    samples = [alt for _, cls, alt in imgs if cls == "sample"]
    assert len(samples) >= 3  # grids at steps 1, 20, 40, 60
    assert "<script" not in html and 'src="http' not in html  # self-contained
    assert "loss_spike" in html and "Before / after the switch" in html
    assert "train/d_on_noisy_real" in html
    json.loads((run / "summary.json").read_text())  # the report did not touch the run's files
