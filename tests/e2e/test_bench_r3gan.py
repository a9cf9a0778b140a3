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
    assert list(rows) == ["stacked_digits"] and list(rows["stacked_digits"]) == ["rpgan", "bce"]
    for loss in ("rpgan", "bce"):
        row = rows["stacked_digits"][loss]
        assert row["seeds"] == 1 and 1 <= row["modes (of 1000)"][0] <= 1000 and row["modes (of 1000)"][1] == 0
        assert row["reverse KL"][0] >= 0 and row["fd_digits"][0] > 0
    assert "RpGAN + R1 + R2" in p.stdout and "non-saturating + R1 + R2" in p.stdout
    assert "StackedMNIST*" in p.stdout and "as issue 24 quotes it" in p.stdout  # the published rows beside ours
    rp, bce = (summary(tmp_path / "br" / f"stacked_digits_{loss}_seed0") for loss in ("rpgan", "bce"))
    assert rp["step"] == bce["step"] == 3
    assert rp["config_groups"]["loss"] == "r3gan" and bce["config_groups"]["loss"] == "bce_r1"
    for s in (rp, bce):  # R1 and R2 logged by both, at the same gamma
        assert "train/penalty" in s["metrics"] and "train/r2" in s["metrics"]
    cfg = (tmp_path / "br" / "stacked_digits_bce_seed0" / ".hydra" / "config.yaml").read_text()
    assert "r1_gamma: 0.2" in cfg and "d_norm: none" in cfg


def test_bench_r3gan_bad_loss_is_one_line_exit_2(ganlab, tmp_path):
    p = ganlab("bench", "r3gan", "--losses", "hinge", check=False)
    assert p.returncode == 2 and "--losses" in p.stderr and not (tmp_path / "outputs").exists()
