"""`ganlab bench likelihood`: DCGAN, VAE, flow and DDPM on shapes in one table, FID proxy and
precision/recall beside bits/dim, the GAN's bits/dim "-" (no likelihood), the estimator named."""

import json
import math

TINY = ["--seeds", "1", "--steps", "2", "--fid-samples", "20", "--nll-samples", "8", "--k", "2", "--ode-steps", "2",
        "--t-samples", "2", "--out", "bench", "data.dataset.size=64"]


def test_four_families_in_one_table_with_bits_per_dim_and_the_gan_dash(ganlab, tmp_path):
    p = ganlab("bench", "likelihood", *TINY)
    rows = {cells[1]: cells for cells in ([c.strip() for c in ln.split("│")[1:-1]]
                                          for ln in p.stdout.splitlines() if ln.startswith("│"))}
    assert list(rows) == ["dcgan", "vae", "flow", "ddpm"], p.stdout
    assert max(map(len, p.stdout.splitlines())) <= 120
    header = next(ln for ln in p.stdout.splitlines() if ln.startswith("┃"))
    bpd = [h.strip() for h in header.split("┃")[1:-1]].index("bits/dim")
    assert rows["dcgan"][bpd] == "-" and rows["dcgan"][bpd + 1] == "none"
    for m, est in (("vae", "IWAE k=2"), ("flow", "ODE+Hutchinson 2 st"), ("ddpm", "VLB 2 t")):
        mean, std = rows[m][bpd].split("±")
        assert math.isfinite(float(mean)) and float(mean) > 0 and float(std) == 0.0, rows[m]  # one seed
        assert rows[m][bpd + 1] == est
    saved = json.loads((tmp_path / "bench" / "bench_likelihood.json").read_text())["shapes"]
    assert saved["dcgan"]["bpd"] is None and saved["dcgan"]["nll_protocol"]["estimator"].startswith("none")
    assert saved["vae"]["nll_protocol"]["split"] == "shapes/test"  # held out: another seed of the generator
    assert all(saved[m]["fid_metric"] == "val/fid_random_conv" and saved[m]["seeds"] == 1 for m in saved)
    run = json.loads((tmp_path / "bench" / "shapes_flow_seed0" / "summary.json").read_text())
    assert run["step"] == 2 and run["protocols"]["fid_proxy"]["n_fake"] == 20 and "sampling_cost" not in run["protocols"]


def test_bad_steps_name_the_option_and_create_nothing(ganlab, tmp_path):
    for bad in ("gan=5", "flow=0", "x"):
        p = ganlab("bench", "likelihood", "--steps", bad, "--out", "bench", check=False)
        assert p.returncode == 2 and "--steps" in p.stderr, p.stderr
    assert not (tmp_path / "bench").exists()
