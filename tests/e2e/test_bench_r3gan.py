"""`ganlab bench r3gan` end to end on a tiny budget: both losses on stacked_digits for one seed,
each run the config it claims (RpGAN vs BCE, R1 and R2 at one gamma, no norm in D), the table
with the published rows, the JSON of mean ± std."""

import json

from conftest import summary

# a few steps of a small DCGAN and a cheap evaluation (every run gets these overrides)
TINY = ["model.width=8", "data.batch_size=16", "data.dataset.size=256", "data.test_dataset.size=300",
        "data.evaluators.modes.n_samples=500", "data.evaluators.fd_digits.n_samples=300"]


def test_bench_r3gan_runs_both_losses_and_tabulates_them(ganlab, tmp_path):
    p = ganlab("bench", "r3gan", "--data", "stacked_digits", "--seeds", "1", "--jobs", "1", "--steps", "3",
               "--gamma", "0.2", "--out", "br", *TINY)
    rows = json.loads((tmp_path / "br" / "bench_r3gan.json").read_text())
    assert list(rows) == ["stacked_digits"] and list(rows["stacked_digits"]) == ["dcgan/rpgan", "dcgan/bce"]
    for loss in ("rpgan", "bce"):
        row = rows["stacked_digits"][f"dcgan/{loss}"]
        assert row["seeds"] == 1 and 1 <= row["modes (of 1000)"][0] <= 1000 and row["modes (of 1000)"][1] == 0
        assert row["reverse KL"][0] >= 0 and row["fd_digits"][0] > 0
    assert "RpGAN + R1 + R2" in p.stdout and "non-saturating + R1 + R2" in p.stdout
    assert "StackedMNIST*" in p.stdout and "as issue 24 quotes it" in p.stdout  # the published rows beside ours
    rp, bce = (summary(tmp_path / "br" / f"stacked_digits_dcgan_{loss}_seed0") for loss in ("rpgan", "bce"))
    assert rp["step"] == bce["step"] == 3
    assert rp["config_groups"]["loss"] == "r3gan" and bce["config_groups"]["loss"] == "bce_r1"
    for s in (rp, bce):  # R1 and R2 logged by both, at the same gamma
        assert "train/penalty" in s["metrics"] and "train/r2" in s["metrics"]
    cfg = (tmp_path / "br" / "stacked_digits_dcgan_bce_seed0" / ".hydra" / "config.yaml").read_text()
    assert "r1_gamma: 0.2" in cfg and "d_norm: none" in cfg


def test_bench_r3gan_bad_loss_is_one_line_exit_2(ganlab, tmp_path):
    p = ganlab("bench", "r3gan", "--losses", "hinge", check=False)
    assert p.returncode == 2 and "--losses" in p.stderr and not (tmp_path / "outputs").exists()


def test_bench_r3gan_biggan_rows(ganlab, tmp_path):
    """--models biggan: BigGAN (its CPU size, tuned/biggan_stacked_digits.yaml) under both losses."""
    ganlab("bench", "r3gan", "--data", "stacked_digits", "--models", "biggan", "--losses", "rpgan", "--seeds", "1",
           "--jobs", "1", "--steps", "2", "--out", "bb", *TINY[1:], "model.width=4", "model.z_dim=12")
    rows = json.loads((tmp_path / "bb" / "bench_r3gan.json").read_text())
    assert list(rows["stacked_digits"]) == ["biggan/rpgan"]
    s = summary(tmp_path / "bb" / "stacked_digits_biggan_rpgan_seed0")
    assert s["config_groups"]["model"] == "biggan" and s["config_groups"]["loss"] == "r3gan"
    assert s["config_groups"]["tuned"] == "conf/tuned/biggan_stacked_digits.yaml" and "train/r2" in s["metrics"]
