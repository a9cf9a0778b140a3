"""`ganlab compare`: the table of runs, the overrides that differ, grouping over seeds, sort, CSV."""

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import GANLAB
from ganlab.analysis.compare import differing_keys, resolve_sort
from ganlab.analysis.runs import find_runs
from ganlab.commands.compare import command
from ganlab.errors import UsageError

FID = {("bce", 0): 30.0, ("bce", 1): 34.0, ("lsgan", 0): 20.0, ("lsgan", 1): 10.0, ("hinge", 0): 50.0,
       ("hinge", 1): 40.0}



def compare_command(args: list[str]) -> None:
    """`ganlab compare ARGS` in this process (its output is captured by capsys)."""
    command.main(args, prog_name="ganlab compare", standalone_mode=False)


def make_run(path: Path, *, overrides: list[str], metrics: dict, best: dict | None = None,
             status: str = "ok", wall: float = 61.0) -> Path:
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    seed = next((int(o.split("=")[1]) for o in overrides if o.startswith("seed=")), 0)
    (path / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"seed": seed}))
    summary = {"status": status, "step": 100, "epoch": 1, "total_steps": 100, "timings": {"wall_time_s": wall},
               "metrics": metrics, "best": best, "events": [], "run_dir": str(path)}
    (path / "summary.json").write_text(json.dumps(summary))
    return path


def make_sweep(root: Path) -> Path:
    """loss x seed, like `ganlab train -m loss=bce,lsgan,hinge seed=0,1`."""
    sweep = root / "outputs" / "sweeps" / "2024-01-01_00-00-00"
    for num, ((loss, seed), fid) in enumerate(FID.items()):
        make_run(sweep / f"{num}_loss={loss},seed={seed}",
                 overrides=["debug=fast", "trainer.device=cpu", f"loss={loss}", f"seed={seed}"],
                 metrics={"train/loss_d": 0.5, "train/loss_g": 1.5, "val/fid": fid + 1, "val/kid": 0.01},
                 best={"monitor": "val/fid", "mode": "min", "value": fid, "step": 90})
    return sweep


def header_columns(out: str, title: str) -> list[str]:
    """The column names of the rich table printed after `title` (headers wrap over lines)."""
    block = out.split(title, 1)[1].split("┡", 1)[0]
    lines = [ln.strip("┃").split("┃") for ln in block.splitlines() if ln.startswith("┃")]
    joined = ["".join(line[i].strip() for line in lines) for i in range(len(lines[0]))]
    return [" ".join(h.replace("best", "best ").replace("best -of", "best-of").split()) for h in joined]


def table_lines(out: str, title: str) -> list[str]:
    """The body rows of the rich table printed after `title`."""
    block = out.split(title, 1)[1].split("└", 1)[0]
    return [ln for ln in block.splitlines() if ln.startswith("│")]


def test_runs_table_shows_only_differing_overrides_and_sorts_by_monitor(tmp_path, capsys):
    make_sweep(tmp_path)
    compare_command([str(tmp_path / "outputs")])
    out = capsys.readouterr().out
    header = header_columns(out, "6 runs")
    assert header == ["name", "loss", "seed", "status", "steps", "wall", "best fid", "fid", "kid"]
    assert "fid = val/fid, kid = val/kid" in out  # the legend of the headers without their namespace
    rows = table_lines(out, "6 runs")
    assert len(rows) == 6
    assert "#3 " in rows[0] and "#4 " in rows[-1]  # fid min first; sweep jobs by number
    assert "1m01s" in rows[0]


def test_grouped_over_seeds(tmp_path, capsys):
    make_sweep(tmp_path)
    compare_command([str(tmp_path / "outputs" / "sweeps" / "*" / "*")])  # a glob, as a quoted argument
    out = capsys.readouterr().out
    rows = table_lines(out, "grouped over seeds")
    assert len(rows) == 3
    assert header_columns(out, "grouped over seeds")[0] == "loss"  # the group's values label it
    lsgan = next(r for r in rows if " lsgan " in r)
    assert rows[0] == lsgan  # best mean of the monitored value first
    assert "15±7.1" in lsgan  # mean ± sample std of best val/fid over seeds 0, 1
    assert "10 (seed 1)" in lsgan  # best-of: the best seed, by mode=min
    assert "0 1" in lsgan and "2 ok" in lsgan
    hinge = next(r for r in rows if " hinge " in r)
    assert "45±7.1" in hinge and "40 (seed 1)" in hinge


def test_best_of_follows_mode_max(tmp_path, capsys):
    for seed, acc in ((0, 0.7), (1, 0.9), (2, 0.8)):
        make_run(tmp_path / f"{seed}_seed={seed}", overrides=[f"seed={seed}"], metrics={"val/modes": acc},
                 best={"monitor": "val/modes", "mode": "max", "value": acc, "step": 5})
    compare_command([str(tmp_path)])
    out = capsys.readouterr().out
    rows = table_lines(out, "3 runs")
    assert "#1 " in rows[0] and "#0 " in rows[2]  # mode max: descending
    (group,) = table_lines(out, "grouped over seeds")
    assert "all runs" in group and "0.9 (seed 1)" in group and "0.8±0.1" in group


def test_sort_csv_and_metrics(tmp_path, capsys):
    make_sweep(tmp_path)
    out_csv = tmp_path / "cmp" / "runs.csv"
    compare_command([str(tmp_path / "outputs"), "--sort", "fid:desc", "--csv", str(out_csv),
                     "--metrics", "val/kid"])
    out = capsys.readouterr().out
    rows = table_lines(out, "6 runs")
    assert "#4 " in rows[0]
    header = header_columns(out, "6 runs")
    assert header[-3:] == ["best fid", "kid", "fid"]  # the requested metric, and the one sorted by
    with out_csv.open() as f:
        data = list(csv.DictReader(f))
    assert len(data) == 6 and data[0]["name"] == "4_loss=hinge,seed=0"
    assert float(data[0]["val/fid"]) == 51.0 and data[0]["train/loss_d"] == "0.5"  # all metrics in the CSV
    assert data[0]["wall"] == "61.0" and Path(data[0]["run_dir"]).is_dir() and data[0]["loss"] == "hinge"
    with (tmp_path / "cmp" / "runs_grouped.csv").open() as f:
        groups = list(csv.DictReader(f))
    assert len(groups) == 3 and groups[0]["loss"] == "hinge" and groups[0]["n"] == "2"
    assert float(groups[0]["best val/fid mean"]) == 45.0 and groups[0]["best-of val/fid seed"] == "1"


def test_losses_when_no_val_metrics_and_failed_runs(tmp_path, capsys):
    make_run(tmp_path / "a", overrides=["loss=bce"], metrics={"train/loss_d": 0.7, "train/loss_g": 0.9})
    make_run(tmp_path / "b", overrides=["loss=wgan"], metrics={"train/loss_d": -1.0}, status="failed")
    compare_command([str(tmp_path / "a"), str(tmp_path / "b")])
    out = capsys.readouterr().out
    assert header_columns(out, "2 runs")[-2:] == ["loss_d", "loss_g"] and "failed" in out
    assert "grouped over seeds" not in out
    (tmp_path / "c" / ".hydra").mkdir(parents=True)  # a run still going: no summary.json yet
    (tmp_path / "c" / "tb").mkdir()
    compare_command([str(tmp_path)])
    assert "running?" in table_lines(capsys.readouterr().out, "3 runs")[-1]
    rows = table_lines(out, "2 runs")
    assert rows[0].split("│")[1].strip() == "a"  # no monitor: sorted by name


def test_helpers(tmp_path):
    assert differing_keys([{"a": "1", "b": "2"}, {"a": "1", "b": "3"}, {"a": "1"}]) == ["b"]
    cols = ["name", "loss", "best val/fid", "val/fid", "val/kid"]
    assert resolve_sort("fid", cols, {"val/fid": "min"}) == ("val/fid", False)
    assert resolve_sort("best", cols, {"val/fid": "max"}) == ("best val/fid", True)
    assert resolve_sort("loss:desc", cols, {}) == ("loss", True)
    with pytest.raises(ValueError, match="no such column"):
        resolve_sort("nope", cols, {})
    sweep = make_sweep(tmp_path)
    assert len(find_runs([str(sweep / "*_loss=bce,*"), str(sweep / "0_loss=bce,seed=0")])) == 2  # deduplicated


def test_errors_name_the_paths(tmp_path, ganlab):
    with pytest.raises(UsageError, match="no run found.*nothing-here"):
        compare_command([str(tmp_path / "nothing-here")])
    make_sweep(tmp_path)
    with pytest.raises(UsageError, match="no such column"):
        compare_command([str(tmp_path), "--sort", "nope"])
    p = ganlab("compare", "missing_dir", "also/*/missing", check=False)
    err = " ".join(p.stderr.split())
    assert p.returncode == 2 and "missing_dir" in err and "also/*/missing" in err


def test_compare_end_to_end_on_a_real_sweep(ganlab, tmp_path):
    ganlab("train", "-m", "debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=64",
           "trainer.device=cpu", "loss=bce,lsgan,hinge", "seed=0,1")
    p = ganlab("compare", "outputs", "--csv", "cmp.csv")
    assert len(table_lines(p.stdout, "6 runs")) == 6
    assert len(table_lines(p.stdout, "grouped over seeds")) == 3
    with (tmp_path / "cmp_grouped.csv").open() as f:
        groups = list(csv.DictReader(f))
    assert sorted(g["loss"] for g in groups) == ["bce", "hinge", "lsgan"] and {g["n"] for g in groups} == {"2"}
    assert {g["status"] for g in groups} == {"2 ok"}


def test_a_real_sweep_fits_120_columns_with_defaults_by_value(tmp_path, ganlab):
    sweep = tmp_path / "sweep"
    for n, (loss, seed) in enumerate((ls, s) for ls in ("bce", "lsgan", "hinge") for s in (0, 1)):
        ov = ["model=dcgan", "data=shapes", f"loss={loss}", f"seed={seed}", "model/discriminator=patchgan",
              "schedule.lr_g=0.0002"] + (["trainer.max_steps=3000"] if n else [])
        run = make_run(sweep / f"{n}_{','.join(ov).replace('/', '.')}", overrides=ov,
                       metrics={"val/fid_random_conv": 12.345 + n, "val/kid_random_conv": 0.0123},
                       best={"monitor": "val/fid_random_conv", "mode": "min", "value": 10.0 + n, "step": 1500})
        (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "trainer": {"max_steps": 2000}}))
    p = subprocess.run([GANLAB, "compare", "sweep"], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "COLUMNS": "120"})
    assert p.returncode == 0, p.stderr
    assert max(len(ln) for ln in p.stdout.splitlines()) <= 120
    assert "…" not in p.stdout  # nothing squeezed
    rows = table_lines(p.stdout, "6 runs")
    assert any(" 2000 " in r for r in rows)  # the run that kept the default shows its value
    groups = table_lines(p.stdout, "grouped over seeds")
    assert {r.split("│")[1].strip() for r in groups} == {"bce", "lsgan", "hinge"}


def make_wide_sweep(root: Path) -> Path:
    """6 runs with long override names and six val/ metrics, as a real image sweep has."""
    sweep = root / "wide"
    for n, (loss, seed) in enumerate((ls, s) for ls in ("bce", "lsgan", "hinge") for s in (0, 1)):
        ov = [f"loss={loss}", f"seed={seed}", "model/discriminator=patchgan"] + (["trainer.max_steps=3000"] if n else [])
        metrics = {f"val/{m}_random_conv": round(0.1 * (n + 1) + i / 1000, 4)
                   for i, m in enumerate(("fid", "kid", "precision", "recall", "density", "coverage"))}
        run = make_run(sweep / f"{n}_{','.join(ov).replace('/', '.')}", overrides=ov,
                       metrics=metrics | {"train/loss_d": 0.5}, status="interrupted" if n == 5 else "ok",
                       best={"monitor": "val/fid_random_conv", "mode": "min", "value": 0.05 * (n + 1), "step": 90})
        (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "trainer": {"max_steps": 2000}}))
    return sweep


@pytest.mark.parametrize("width", [80, 120, 200])
def test_compare_fits_the_terminal_with_nothing_cut(tmp_path, capsys, monkeypatch, width):
    sweep = make_wide_sweep(tmp_path)
    monkeypatch.setenv("COLUMNS", str(width))
    compare_command([str(sweep)])
    out = capsys.readouterr().out
    assert "…" not in out and max(map(len, out.splitlines())) <= width
    rows = table_lines(out, "6 runs")
    for n, row in enumerate(sorted(rows, key=lambda r: r.split("│")[1])):  # by #n
        cells = [c.strip() for c in row.split("│")]
        assert f"#{n}" in cells and ("bce", "lsgan", "hinge")[n // 2] in cells and str(n % 2) in cells
        assert ("3000" if n else "2000") in cells and ("interrupted" if n == 5 else "ok") in cells
        assert "100" in cells and f"{0.05 * (n + 1):.4g}" in cells  # steps, the best monitored value
    assert "fid_rc = val/fid_random_conv" in out  # the legend of the abbreviated headers
    assert "best fid_rc" in header_columns(out, "6 runs")
    assert "4 more metrics" not in out and "3 more metrics in the runs' summaries: --metrics all" in out
    if width == 200:  # room for the monitored metric and 3 more (fid, kid, precision, recall), wall time
        assert all(c in out for c in ("kid_rc", "precision_rc", "recall_rc", "1m01s")) and "not shown" not in out
        assert "density_rc" not in out  # not among the default four
    if width == 80:  # what did not fit is named, with how to see it
        assert "not shown (too wide for 80 columns): " in out and "wall" in out.split("not shown")[1]


def test_compare_metrics_all_and_a_chosen_list(tmp_path, capsys, monkeypatch):
    sweep = make_wide_sweep(tmp_path)
    monkeypatch.setenv("COLUMNS", "400")
    compare_command([str(sweep), "--metrics", "all"])
    out = capsys.readouterr().out
    legend = next(ln for ln in out.splitlines() if "fid_rc = val/fid_random_conv" in ln)
    assert "density_rc = val/density_random_conv" in legend and "loss_d" in out and "more metric" not in out
    compare_command([str(sweep), "--metrics", "val/coverage_random_conv,train/loss_d"])
    header = header_columns(capsys.readouterr().out, "6 runs")
    assert header[-3:] == ["best fid_rc", "coverage_rc", "loss_d"]


def test_best_column_dropped_when_it_repeats_the_metric(tmp_path, capsys):
    for seed in (0, 1):
        make_run(tmp_path / f"{seed}_seed={seed}", overrides=[f"seed={seed}"], metrics={"val/modes": 7.0 + seed},
                 best={"monitor": "val/modes", "mode": "max", "value": 7.0 + seed, "step": 100})
    compare_command([str(tmp_path)])
    header = header_columns(capsys.readouterr().out, "2 runs")
    assert "modes" in header and "best modes" not in header


def test_bits_per_dim_beside_the_fid_proxy_by_default_within_120_columns(tmp_path, capsys, monkeypatch):
    """A sweep over families (`ganlab bench likelihood`'s runs): val/nll_bpd is among the default
    columns, "-" for the GAN (no likelihood), and the table fits 120 columns."""
    for n, model in enumerate(("dcgan", "vae", "flow", "ddpm")):
        metrics = {f"val/{m}_random_conv": 0.1 * (n + 1) for m in ("fid", "kid", "precision", "recall", "density")}
        metrics |= {} if model == "dcgan" else {"val/nll_bpd": 4.0 + n}
        make_run(tmp_path / f"{n}_model={model}", overrides=[f"model={model}", "data=shapes", "metrics=nll"],
                 metrics=metrics, best={"monitor": "val/fid_random_conv", "mode": "min", "value": 0.1, "step": 90})
    monkeypatch.setenv("COLUMNS", "120")
    compare_command([str(tmp_path)])
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 120 and "not shown" not in out
    header = header_columns(out, "4 runs")
    assert "nll_bpd" in header and "fid_rc" in " ".join(header), header
    col = header.index("nll_bpd")
    cells = {c[1]: c for c in ([x.strip() for x in ln.split("│")[1:-1]] for ln in table_lines(out, "4 runs"))}
    assert cells["dcgan"][col] == "-" and cells["vae"][col] == "5", cells
