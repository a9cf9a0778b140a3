"""End-to-end, the real `ganlab` command on tiny configs: ADA's p and LeCam's EMAs resume bitwise."""

import pytest
import torch

from conftest import checkpoint_tensors, summary
from ganlab.errors import ConfigError

TINY = ["debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=32", "trainer.device=cpu",
        "trainer.max_steps=8"]
# p moves every D step (target -0.9: up unless D calls nearly every real fake), LeCam's EMAs decay
ADA_LECAM = ["augment=ada", "augment.interval=3", "augment.adjust_images=64", "augment.target=-0.9",
             "loss.lecam.weight=0.5", "loss.lecam.start_steps=2"]
TRANSLATION = ["model=cyclegan", "data=toyzebra", "model.discriminator.width=8", "model.generator.n_blocks=1",
               "data.image_size=32", "data.dataset.size=8", "data.test_dataset.size=4", "data.batch_size=2",
               "~data.evaluators.masks"]


def _flat(x, prefix="") -> dict:
    if isinstance(x, dict):
        return {k2: v2 for k, v in x.items() for k2, v2 in _flat(v, f"{prefix}.{k}").items()}
    return {prefix: x}


# evaluation is tested elsewhere; without it these runs cost a third
@pytest.mark.parametrize("extra", [["~data.evaluators.fid_proxy"], TRANSLATION], ids=["dcgan", "cyclegan"])
def test_ada_p_and_lecam_emas_resume_bitwise(ganlab, tmp_path, extra):
    base = [*TINY, *ADA_LECAM, *extra]
    ganlab("train", *base, "hydra.run.dir=straight")
    ganlab("train", *base, "trainer.stop_at_step=4", "hydra.run.dir=resumed", check=False)
    assert summary(tmp_path / "resumed")["status"] == "interrupted"
    ganlab("train", f"resume={tmp_path / 'resumed'}")
    a_ckpt, b_ckpt = (tmp_path / d / "checkpoints" / "last.pt" for d in ("straight", "resumed"))
    a, b = checkpoint_tensors(a_ckpt), checkpoint_tensors(b_ckpt)
    assert a.keys() == b.keys() and len(a) > 10
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    sa, sb = (_flat(torch.load(c, weights_only=True)["step_state"]) for c in (a_ckpt, b_ckpt))
    assert sa.keys() == sb.keys()
    for k in sa:
        if isinstance(sa[k], torch.Tensor):
            assert torch.equal(sa[k], sb[k]), k
        else:
            assert sa[k] == sb[k], k
    assert 0 < sa[".augment.p"] <= 0.8 and sa[".augment.steps"] == 8  # p moved, within its bound
    lecam = [k for k in sa if ".lecam." in k and k.endswith("ema_real")]
    assert lecam and all(isinstance(sa[k], torch.Tensor) for k in lecam)
    s = summary(tmp_path / "resumed")
    assert s["metrics"]["train/ada_p"] == summary(tmp_path / "straight")["metrics"]["train/ada_p"]
    assert s["config_groups"]["augment"] == "ada"


def test_bad_augment_value_names_the_key_and_creates_nothing(ganlab, tmp_path):
    p = ganlab("train", *TINY, "augment=ada", "augment.p_max=1.5", "hydra.run.dir=bad", check=False)
    assert p.returncode == 2 and "augment.p_max" in p.stderr
    assert not (tmp_path / "bad").exists()


def test_held_out_d_stats_without_a_test_split_name_the_key_and_create_nothing(ganlab, tmp_path):
    p = ganlab("train", *TINY, "metrics=d_overfit", "hydra.run.dir=bad", check=False)
    assert p.returncode == 2 and "metrics.d_overfit" in p.stderr and "data.test_dataset" in p.stderr
    assert not (tmp_path / "bad").exists()
    p = ganlab("train", *TINY, "data.evaluators.fid_proxy.reference=test", "hydra.run.dir=bad", check=False)
    assert p.returncode == 2 and "data.evaluators.fid_proxy.reference=test" in p.stderr and "data.test_dataset" in p.stderr
    assert not (tmp_path / "bad").exists()


def test_bench_small_data_tabulates_every_augment_with_held_out_stats(ganlab, tmp_path):
    small = ["model.width=8", "data.image_size=16", "data.dataset.size=64", "data.test_dataset.size=32",
             "data.batch_size=16", "trainer.eval_every=4", "trainer.log_every=2",
             "data.evaluators.fid_proxy.n_samples=64", "data.evaluators.fid_proxy.kid_subset_size=32"]
    p = ganlab("bench", "small-data", "--seeds", "1", "--steps", "4", "--jobs", "2", "--augment", "none,ada",
               "--policy", "translation,cutout", "--out", "bench", *small)
    ada_cfg = __import__("yaml").safe_load((tmp_path / "bench" / "ada_seed0" / ".hydra" / "config.yaml").read_text())
    assert ada_cfg["augment"]["policy"] == ["translation", "cutout"]  # --policy reached the ada run
    for augment in ("none", "ada"):
        s = summary(tmp_path / "bench" / f"{augment}_seed0")
        assert s["status"] == "ok" and s["step"] == 4 and s["config_groups"]["augment"] == augment
        assert {"val/d_real_train", "val/d_real_heldout", "val/d_overfit_gap", "val/precision_random_conv",
                "val/coverage_random_conv"} <= set(s["metrics"])
        assert s["protocols"]["d_overfit"]["n_heldout"] == 32 and s["protocols"]["fid_proxy"]["prdc"]["k"] == 5
        assert s["protocols"]["fid_proxy"]["reference_split"] == "shapes/test/x"  # held-out images, not the 64
    assert "D gap" in p.stdout and "none" in p.stdout and "ada" in p.stdout
    rows = __import__("json").loads((tmp_path / "bench" / "bench_small_data.json").read_text())
    assert set(rows) == {"none", "ada"} and rows["ada"]["seeds"] == 1
    # ganlab eval: the run's own val/ metrics (fid_proxy, d_overfit) and the --metrics pass by name,
    # with clean-fid's resize, recorded
    ckpt = tmp_path / "bench" / "ada_seed0" / "checkpoints" / "last.pt"
    ganlab("eval", str(ckpt), "--metrics", "precision,coverage", "--feature", "random_conv", "--n", "64",
           "--resize", "clean", "--device", "cpu", "--cache-dir", "cache")
    res = __import__("json").loads((ckpt.parent / "eval.json").read_text())
    assert {"val/precision_random_conv", "val/coverage_random_conv", "val/d_overfit_gap"} <= set(res["metrics"])
    assert res["protocols"]["fid"]["resize"] == "clean" and list((tmp_path / "cache").glob("*_train_*_clean_16px_64_*.pt"))
    ganlab("eval", str(ckpt), "--metrics", "fid", "--feature", "random_conv", "--n", "64", "--reference", "test",
           "--device", "cpu", "--cache-dir", "cache")
    res = __import__("json").loads((ckpt.parent / "eval.json").read_text())
    assert res["protocols"]["fid"]["reference_split"] == "shapes/test/x" and res["protocols"]["fid"]["n_real"] == 32


def test_augmenting_2d_points_is_refused_at_start(ganlab, tmp_path):
    p = ganlab("train", "model=mlp", "data=ring8", "augment=diffaug", "debug=fast", "trainer.device=cpu",
               "hydra.run.dir=bad", check=False)
    assert p.returncode == 2 and "augment" in p.stderr and "augment=none" in p.stderr
    assert not (tmp_path / "bad").exists()


def test_ada_counts_every_ranks_images_so_all_ranks_keep_one_p(tmp_path):
    from test_distributed import TINY as DDP_TINY
    from test_distributed import torchrun

    # global batch 16 (8 a rank), p += 16 / 160 per D step while r_t > -0.9: 0.6 after 6 steps
    # (0.3 if each rank counted only its own images)
    torchrun(*DDP_TINY, "trainer.max_steps=6", "augment=ada", "augment.interval=1", "augment.adjust_images=160",
             "augment.target=-0.9", "hydra.run.dir=ddp", cwd=tmp_path)
    state = torch.load(tmp_path / "ddp" / "checkpoints" / "last.pt", weights_only=True)
    ps = [state["step_state"]["augment"]["p"], state["ranks"][0]["step_state"]["augment"]["p"]]
    assert ps == pytest.approx([0.6, 0.6])


@pytest.mark.parametrize("model", ["flow", "ddpm", "vae"])
def test_augmenting_a_baseline_without_discriminator_is_refused(model):
    from ganlab.config import compose
    from ganlab.training.build import build_algorithm

    cfg = compose([f"model={model}", "data=shapes", "data.image_size=16", "augment=diffaug"])
    with pytest.raises(ConfigError, match=r"^model.algorithm: augment=DiffAugment: .*this baseline has none: use augment=none"):
        build_algorithm(cfg)
    assert build_algorithm(compose([f"model={model}", "data=shapes", "data.image_size=16"])) is not None
