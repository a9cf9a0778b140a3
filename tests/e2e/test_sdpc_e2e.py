"""Sparse Deep Predictive Coding (model=sdpc) and its two fusions with a GAN (experiment=sdpc_gan_d,
sdpc_gan_g) through the real `ganlab` command on tiny configs: one phase (SDPC) or the ordinary
GAN phases, bitwise resume, the namespaced sparsity / reconstruction metrics, the dictionaries
and reconstructions in TensorBoard, and the fusions' samples."""

import json

import pytest
import torch

from conftest import bitwise_resume, summary

TINY = ["data=shapes", "data.image_size=16", "data.dataset.size=32", "data.batch_size=8", "trainer.device=cpu",
        "trainer.log_every=1", "trainer.eval_every=4", "callbacks.tensorboard.sample_every_n_steps=4"]
SDPC = ["model=sdpc", *TINY, "model.sdpc.n_iter=5", "data.evaluators.sparse_coding.n_samples=16"]
FID = ["data.evaluators.fid_proxy.n_samples=16", "data.evaluators.fid_proxy.kid_subset_size=8",
       "data.evaluators.fid_proxy.batch_size=16"]


def test_sdpc_learns_unit_norm_dictionaries_resumes_bitwise_and_logs_codes(ganlab, tmp_path):
    s = bitwise_resume(ganlab, tmp_path, SDPC, expect=("modules.net.dicts.0", "modules.net.dicts.1",
                                                       "optimizers.model"))
    m = s["metrics"]
    assert {"train/loss_sdpc", "train/sdpc_recon_mse", "train/sdpc_recon_mse_l2", "train/sdpc_sparsity_l1",
            "train/sdpc_sparsity_l2", "val/sdpc_recon_mse", "val/sdpc_recon_mse_top", "val/sdpc_sparsity_l1",
            "val/sdpc_sparsity_l2"} <= m.keys()
    assert not any(k.startswith("val/fid") for k in m)   # a coder draws no samples: the data's FID records nothing
    assert 0 < m["val/sdpc_sparsity_l1"] < 1 and 0 < m["val/sdpc_recon_mse"] < m["val/sdpc_recon_mse_top"]
    assert s["best"]["monitor"] == "val/sdpc_recon_mse"   # the model's own monitor, not the data's FID
    run = tmp_path / "straight"
    for name in ("atoms_l1", "atoms_l2", "reconstructions", "inference"):
        assert list((run / "samples").glob(f"{name}_step*.png")), name
        assert (run / f"final_{name}.png").stat().st_size > 500
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    atoms = state["modules"]["net"]["dicts.0"]
    assert atoms.shape == (32, 3, 7, 7)
    assert torch.allclose(atoms.flatten(1).norm(dim=1), torch.ones(32), atol=1e-5)  # renormalised after each step
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    assert {"samples/atoms_l1", "samples/atoms_l2", "samples/reconstructions", "samples/inference"} <= \
        set(acc.Tags()["images"])
    assert {"train/sdpc_sparsity_l1", "val/sdpc_recon_mse", "val/sdpc_sparsity_l2"} <= set(acc.Tags()["scalars"])
    p = ganlab("sample", "straight", "--out", "s.png", check=False)   # a coder: one line saying where its images are
    assert p.returncode == 2 and "draws no samples" in p.stderr and not (tmp_path / "s.png").exists()


def test_bad_sdpc_layer_is_one_line_naming_the_key_and_creates_nothing(ganlab, tmp_path):
    p = ganlab("train", "model=sdpc", "trainer.device=cpu", "model.sdpc.layers.0.atoms=0", "hydra.run.dir=run",
               check=False)
    assert p.returncode == 2 and "model.sdpc.layers[0]" in p.stderr and len(p.stderr.strip().splitlines()) == 1, \
        p.stderr
    assert not (tmp_path / "run").exists()
    p = ganlab("train", "experiment=sdpc_gan_d", "trainer.device=cpu", "model.discriminator.sdpc_checkpoint=nowhere.pt",
               "hydra.run.dir=run", check=False)   # the other bad checkpoints: tests/unit/test_sdpc_heldout.py
    assert p.returncode == 2 and "model.discriminator.sdpc_checkpoint=nowhere.pt" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


@pytest.mark.parametrize("preset, expect", [("sdpc_gan_d", ("modules.D.sdpc.dicts.0", "optimizers.D")),
                                            ("sdpc_gan_g", ("modules.G.sdpc.dicts.1", "optimizers.G"))])
def test_sdpc_fusion_presets_train_sample_and_resume_bitwise(ganlab, tmp_path, preset, expect):
    args = [f"experiment={preset}", *TINY, *FID, "model.width=8", "model.algorithm.ema_decay=0"]
    s = bitwise_resume(ganlab, tmp_path, args, steps=6, stop_at=3, expect=expect)
    assert "val/fid_random_conv" in s["metrics"] and s["config_groups"]["experiment"] == preset
    if preset == "sdpc_gan_d":   # the front end's dictionaries learn by reconstruction in D's phase
        assert s["metrics"]["train/sdpc_dict_loss"] > 0
    assert (tmp_path / "straight" / "final_samples.png").stat().st_size > 500
    p = ganlab("sample", "straight", "--n", "4", "--out", "s.png", "--device", "cpu")
    assert (tmp_path / "s.png").stat().st_size > 200, p.stdout


def test_sdpc_gan_d_with_a_pretrained_frozen_front_end_keeps_its_dictionaries_and_resumes_bitwise(ganlab, tmp_path):
    ganlab("train", *SDPC, "trainer.max_steps=2", "trainer.eval_every=2", "hydra.run.dir=coder")
    args = ["experiment=sdpc_gan_d", *TINY, *FID, "model.width=8", "model.algorithm.ema_decay=0",
            "data.evaluators.sparse_coding.n_samples=16", "model.discriminator.sdpc_checkpoint=coder",
            "model.discriminator.sdpc_frozen=true"]
    s = bitwise_resume(ganlab, tmp_path, args, steps=4, stop_at=2, expect=("modules.D.sdpc.dicts.0",))
    loaded = torch.load(tmp_path / "coder" / "checkpoints" / "best.pt", weights_only=True)["modules"]["net"]
    after = torch.load(tmp_path / "straight" / "checkpoints" / "last.pt", weights_only=True)
    for i in range(2):   # 4 GAN steps later, the very atoms of the model=sdpc run
        assert torch.equal(after["modules"]["D"][f"sdpc.dicts.{i}"], loaded[f"dicts.{i}"]), i
    assert after["config"]["model"]["discriminator"]["sdpc_checkpoint"] == "coder"   # recorded with the run
    m = s["metrics"]   # the front end's held-out reconstruction and sparsity during the GAN run
    assert 0 < m["val/sdpc_recon_mse"] < 1 and 0 < m["val/sdpc_sparsity_l1"] < 1 and "val/fid_random_conv" in m
    assert s["protocols"]["sparse_coding"]["heldout"] is True


def test_bench_sdpc_tabulates_dcgan_and_a_fusion_over_seeds(ganlab, tmp_path):
    p = ganlab("bench", "sdpc", "--seeds", "2", "--steps", "2", "--width", "8", "--methods", "dcgan,sdpc_gan_g",
               "--out", "b", *[a for a in TINY if not a.startswith("data=")], *FID, "model.algorithm.ema_decay=0")
    rows = json.loads((tmp_path / "b" / "bench_sdpc.json").read_text())
    assert list(rows) == ["dcgan", "sdpc_gan_g"] and all(r["seeds"] == 2 for r in rows.values())
    assert rows["dcgan"]["quality metric"] == "val/fid_random_conv" and rows["dcgan"]["wall s"][0] > 0
    assert {"quality", "precision", "recall"} <= rows["sdpc_gan_g"].keys() and "modes" not in rows["dcgan"]
    assert "sdpc_gan_g" in p.stdout and "val/fid_random_conv" in p.stdout
    assert summary(tmp_path / "b" / "sdpc_gan_g_seed1")["config_groups"]["experiment"] == "sdpc_gan_g"
    bad = ganlab("bench", "sdpc", "--methods", "vae", check=False)
    assert bad.returncode == 2 and "--methods" in bad.stderr
