"""metrics=nll end to end: each likelihood family records val/nll_bpd with its estimator in
summary.json protocols; a GAN records none and compare shows "-" (never 0)."""

from conftest import summary

NLL = ["metrics=nll", "metrics.nll.n_samples=32", "metrics.nll.k=4", "metrics.nll.ode_steps=2", "metrics.nll.t_samples=4"]
TINY_2D = ["trainer.device=cpu", "data=grid25", "data.batch_size=16", "data.dataset.size=64", "trainer.eval_every=4",
           "data.evaluators.modes.n_samples=100", "trainer.max_steps=4", *NLL]
BASE = ["model.networks.net.hidden=16", "data.evaluators.sampling_cost.n_samples=4"]


def test_vae_flow_ddpm_record_bits_per_dim_and_their_estimator_and_a_gan_none(ganlab, tmp_path):
    estimators = {"vae": "IWAE bound", "flow": "probability-flow ODE", "ddpm": "DDPM variational bound"}
    # one sweep, one process: importing torch costs more than these runs; job n trains the n-th model.
    # `++`: Hydra composes the sweep's own config with the default model, which has no net.hidden
    ganlab("train", "-m", f"model={','.join(estimators)}", *TINY_2D, *[f"++{a}" for a in BASE],
           "hydra.sweep.dir=sweep", "hydra.sweep.subdir=${hydra.job.num}")
    for n, (model, name) in enumerate(estimators.items()):
        s = summary(tmp_path / "sweep" / str(n))
        assert s["config_groups"]["model"] == model
        assert 0 < s["metrics"]["val/nll_bpd"] < 20, s["metrics"]
        proto = s["protocols"]["nll"]
        assert proto["estimator"].startswith(name) and "2D points in data units" in proto["units"], proto
    ganlab("train", "model=mlp", *TINY_2D, "hydra.run.dir=gan")
    assert "val/nll_bpd" not in summary(tmp_path / "gan")["metrics"]
    p = ganlab("compare", "gan", "sweep/0", "--metrics", "val/nll_bpd")
    gan_row = next(ln for ln in p.stdout.splitlines() if "│ gan " in ln)
    assert gan_row.rstrip("│ ").endswith("-"), gan_row  # missing, not 0


def test_image_nll_is_in_dequantised_8_bit_pixel_units(ganlab, tmp_path):
    ganlab("train", "model=vae", "trainer.device=cpu", "data=shapes", "data.image_size=16", "data.dataset.size=32",
           "data.batch_size=8", "trainer.eval_every=4", "trainer.max_steps=4", "~data.evaluators",
           "model.autoencoder.width=4", "model.latent_dim=4", *NLL, "hydra.run.dir=img")
    s = summary(tmp_path / "img")
    assert 1 < s["metrics"]["val/nll_bpd"] < 30
    assert "8-bit pixel values in [0, 256), uniformly dequantised" in s["protocols"]["nll"]["units"]
