"""The baselines (model=flow, ddpm, vae) through the real `ganlab` command on tiny configs: one
phase through the unchanged loop, bitwise resume (networks, EMA, optimizer, RNG), the data's own
val/ metrics plus the sampling cost, `sample` from the checkpoint alone, and `compare` with a
GAN run in one table."""

import csv
import json

from conftest import bitwise_resume, summary

CPU = ["trainer.device=cpu", "trainer.log_every=1", "callbacks.tensorboard.sample_every_n_steps=4"]
TINY_2D = [*CPU, "data=grid25", "data.batch_size=16", "data.dataset.size=64", "model.networks.net.hidden=16",
           "trainer.eval_every=4", "data.evaluators.modes.n_samples=200", "data.evaluators.sampling_cost.n_samples=8"]
TINY_IMG = [*CPU, "data=shapes", "data.image_size=16", "data.dataset.size=32", "data.batch_size=8",
            "trainer.eval_every=4", "data.evaluators.fid_proxy.n_samples=16", "data.evaluators.fid_proxy.kid_subset_size=8",
            "data.evaluators.fid_proxy.batch_size=16"]
COST = ["data.evaluators.sampling_cost.n_samples=4"]
DIT = ["model/denoiser=dit", "model.denoiser.dim=16", "model.denoiser.depth=1", "model.denoiser.heads=2"]


def test_flow_on_grid25_resumes_bitwise_and_reports_modes_and_sampling_cost(ganlab, tmp_path):
    s = bitwise_resume(ganlab, tmp_path, ["model=flow", *TINY_2D, "model.algorithm.sample_steps=5"])
    m = s["metrics"]
    assert {"val/modes", "val/hq", "train/loss_fm", "train/grad_norm_model"} <= m.keys()
    assert m["val/nfe"] == 10 and s["timings"]["val/samples_per_s"] > 0   # midpoint: 2 evaluations per step
    assert "val/samples_per_s" not in m   # a clock reading: never in the compared record
    assert s["protocols"]["sampling_cost"]["nfe"] == 10
    assert s["config_groups"]["loss"] == "flow_matching" and s["config_groups"]["schedule"] == "baseline"
    ckpt = str(tmp_path / "straight" / "checkpoints" / "last.pt")
    ganlab("eval", ckpt, "--metrics", "modes,sampling_cost", "--device", "cpu", "--out", "eval.json")
    ev = json.loads((tmp_path / "eval.json").read_text())
    assert "val/modes" in json.dumps(ev) and "val/nfe" in json.dumps(ev)
    p = ganlab("sample", ckpt, "--mode", "interpolate", "--n", "3", "--frames", "5", "--steps", "3",
               "--out", "paths.png", "--device", "cpu")
    assert (tmp_path / "paths.png").stat().st_size > 1000 and "3 interpolation strips of 5" in p.stdout
    assert "3 steps, 6 network evaluations" in p.stdout


def test_ddpm_with_a_dit_on_images_resumes_bitwise_with_a_fid_proxy(ganlab, tmp_path):
    s = bitwise_resume(ganlab, tmp_path, ["model=ddpm", *TINY_IMG, *COST, *DIT, "model.algorithm.sample_steps=4"])
    assert "val/fid_random_conv" in s["metrics"] and s["metrics"]["val/nfe"] == 4
    assert s["config_groups"]["model/denoiser"] == "dit"
    assert list((tmp_path / "straight" / "samples").glob("grid_step*.png"))
    # the run's closing grid, as for the GANs (the baselines' generate takes no labels)
    assert (tmp_path / "straight" / "final_samples.png").stat().st_size > 0


def test_a_conditional_ddpm_with_learned_variances_resumes_bitwise_and_samples_guided(ganlab, tmp_path):
    s = bitwise_resume(ganlab, tmp_path, ["model=ddpm", *TINY_IMG, *COST, *DIT, "model.num_classes=12",
                                           "model.algorithm.learn_sigma=true", "model.algorithm.sampler=ancestral",
                                           "model.algorithm.sample_steps=4"])
    assert {"train/loss_v", "train/loss_vlb", "val/fid_random_conv"} <= s["metrics"].keys()
    assert s["metrics"]["val/nfe"] == 4   # the respaced ancestral chain, conditional (guidance 1)
    p = ganlab("sample", str(tmp_path / "straight"), "--guidance", "2", "--n", "24", "--out", "g.png", "--device", "cpu")
    assert "24 samples" in p.stdout and "4 steps, 8 network evaluations per sample, guidance 2" in p.stdout


VAE = ["model=vae", *TINY_IMG, *COST, "model.autoencoder.width=4", "model.latent_dim=4"]


def test_vae_resumes_bitwise_and_draws_its_latent_space(ganlab, tmp_path):
    s = bitwise_resume(ganlab, tmp_path, VAE)
    assert {"train/loss_rec", "train/loss_kl", "val/fid_random_conv"} <= s["metrics"].keys()
    assert list((tmp_path / "straight" / "samples").glob("latent_step*.png"))  # labelled data: latent scatter


def test_a_gan_and_a_baseline_interpolate_and_compare_in_one_table(ganlab, tmp_path):
    p = ganlab("train", *VAE, "trainer.max_steps=4", "hydra.run.dir=straight")
    # the VAE's own losses on its step lines and its final line (not only a GAN's loss_d / loss_g)
    step = next(ln for ln in p.stdout.splitlines() if " step 4/4 " in ln)
    assert "loss_kl=" in step and "loss_rec=" in step, step
    final = next(ln for ln in p.stdout.splitlines() if ln.startswith("final: "))
    assert "train/loss_kl=" in final and "train/loss_rec=" in final, final
    ganlab("train", "model=dcgan", "model.width=4", *TINY_IMG, "trainer.max_steps=4", "metrics=sampling_cost",
           "metrics.sampling_cost.n_samples=4", "hydra.run.dir=gan")
    assert summary(tmp_path / "gan")["metrics"]["val/nfe"] == 1   # any run can record it
    p = ganlab("sample", "gan", "--mode", "interpolate", "--frames", "4",
               "--out", "gan.png", "--device", "cpu")  # the flow test interpolates a baseline
    assert (tmp_path / "gan.png").stat().st_size > 200
    # a run dir means its best checkpoint; interpolation draws 4 strips unless --n says otherwise
    assert "4 interpolation strips of 4 from gan/checkpoints/best.pt" in p.stdout, p.stdout
    p = ganlab("sample", str(tmp_path), check=False)
    assert p.returncode == 2 and "no checkpoints/best.pt or checkpoints/last.pt" in p.stderr
    table = ganlab("compare", "straight", "gan", "--csv", "runs.csv").stdout
    assert "vae" in table and "dcgan" in table
    rows = list(csv.DictReader((tmp_path / "runs.csv").open()))
    assert sorted(r["model"] for r in rows) == ["dcgan", "vae"]
    assert all(r["best val/fid_random_conv"] for r in rows)


def test_bench_quality_runs_the_flow_row_beside_the_published_ones(ganlab, tmp_path):
    p = ganlab("bench", "quality", "--methods", "flow", "--data", "ring8", "--seeds", "1", "--steps", "20",
               "--jobs", "1", "--out", "bq")
    rows = json.loads((tmp_path / "bq" / "bench_quality.json").read_text())
    assert list(rows) == ["ring8"] and list(rows["ring8"]) == ["flow"] and rows["ring8"]["flow"]["seeds"] == 1
    assert "flow matching" in p.stdout and "PacGAN" in p.stdout
    groups = summary(tmp_path / "bq" / "ring8_flow_seed0")["config_groups"]
    assert groups["model"] == "flow" and groups["tuned"] == "conf/tuned/flow_ring8.yaml"
    assert groups["model/denoiser"] == "unet (replaced by conf/tuned/flow_ring8.yaml)"  # the 2D MLP, not a U-Net
    bad = ganlab("bench", "quality", "--methods", "vae", check=False)
    assert bad.returncode == 2 and "--methods" in bad.stderr


def test_bad_baseline_config_is_one_line_naming_the_key_and_creates_nothing(ganlab, tmp_path):
    for args, key in ((["model=flow", "schedule.lr=abc"], "schedule.lr"),
                      (["model=ddpm", "model/denoiser=dit", "model.denoiser.patch=5"], "model.networks.net"),
                      (["model=flow", "model.algorithm.solver=rk45"], "model.algorithm"),
                      (["model=flow", "data=shapes", "model.num_classes=5"], "set model.num_classes=12"),
                      (["model=ddpm", "data=grid25", "model.num_classes=3"], "use labelled data"),
                      (["model=ddpm", "model.algorithm.cond_drop=1.5"], "cond_drop=1.5")):
        p = ganlab("train", *args, "trainer.device=cpu", "hydra.run.dir=run", check=False)
        assert p.returncode == 2 and key in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert not (tmp_path / "run").exists()
