"""`ganlab eval RUN_DIR|CKPT` with no options recomputes the run's own val/ metrics (the evaluators its
config holds: modes for 2D data, masks for toyzebra, the FID proxy for shapes) on every family;
`--metrics` adds FID/KID on top of them. Tiny checkpoints shared by the module."""

import json

import pytest

from conftest import run_ganlab, summary, train_each

FAST = ["debug=fast", "trainer.device=cpu", "trainer.max_steps=2", "trainer.eval_every=2"]
RUNS = {
    "mlp_ring8": ["model=mlp", "data=ring8", "data.evaluators.modes.n_samples=500"],
    "dcgan_shapes": ["model.width=8", "data.image_size=16", "data.dataset.size=64",
                     "data.evaluators.fid_proxy.n_samples=64", "data.evaluators.fid_proxy.kid_subset_size=32"],
    "agan_toyzebra": ["model=agan", "data=toyzebra", "data.dataset.size=16", "data.test_dataset.size=16",
                      "data.batch_size=4", "model.width=8", "model.discriminator.width=8"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return train_each(tmp_path_factory.mktemp("eval_own"), RUNS, FAST)


def evaluate(root, name, *args, check=True):
    ckpt = root / name / "checkpoints" / "last.pt"
    p = run_ganlab("eval", str(ckpt), "--device", "cpu", *args, cwd=root, check=check)
    out = ckpt.parent / "eval.json"
    return p, (json.loads(out.read_text()) if out.is_file() else None)


@pytest.mark.parametrize("name, expected", [
    ("mlp_ring8", {"val/modes", "val/hq", "val/reverse_kl"}),
    ("dcgan_shapes", {"val/fid_random_conv", "val/kid_random_conv", "val/precision_random_conv",
                      "val/recall_random_conv", "val/density_random_conv", "val/coverage_random_conv"}),
    ("agan_toyzebra", {"val/mask_iou", "val/bg_l1", "val/stripe", "val/success", "val/mask_coverage"}),
])
def test_eval_without_options_recomputes_the_runs_own_metrics(runs, name, expected):
    p, res = evaluate(runs, name)
    assert p.returncode == 0 and "weights" not in p.stderr.lower()
    assert expected <= set(res["metrics"]), res["metrics"]
    # summary.json leaves out non-finite values (reverse KL of 2-step samples); eval.json has them all
    assert {k for k in summary(runs / name)["metrics"] if k.startswith("val/")} <= set(res["metrics"])
    assert res["step"] == 2 and res["protocols"]
    own = summary(runs / name)["metrics"]
    # deterministic evaluators (seeded by the step) give the run's own numbers back
    for key in ("val/modes", "val/hq", "val/mask_iou", "val/bg_l1", "val/fid_random_conv", "val/precision_random_conv"):
        if key in res["metrics"]:
            assert res["metrics"][key] == pytest.approx(own[key], rel=1e-4, abs=1e-6), key


def test_eval_metrics_adds_fid_on_top_of_the_own_metrics(runs):
    p, res = evaluate(runs, "agan_toyzebra", "--metrics", "fid,kid", "--feature", "random_conv", "--n", "16",
                      "--cache-dir", "cache")
    assert {"val/mask_iou", "val/fid_random_conv", "val/kid_random_conv"} <= set(res["metrics"])
    assert "val/precision_random_conv" not in res["metrics"]  # only the names asked for
    assert {"masks", "fid"} <= set(res["protocols"])


def test_eval_unknown_metric_names_the_choices(runs):
    p, res = evaluate(runs, "mlp_ring8", "--metrics", "nope", check=False)
    assert p.returncode == 2 and "nope" in p.stderr and "fid" in p.stderr and "modes" in p.stderr


def test_eval_takes_a_run_directory_and_scores_its_best_checkpoint(runs):
    run_ganlab("eval", "dcgan_shapes", "--device", "cpu", cwd=runs)
    res = json.loads((runs / "dcgan_shapes" / "checkpoints" / "eval.json").read_text())
    best = summary(runs / "dcgan_shapes")["best"]
    assert res["ckpt"].endswith("best.pt") and res["step"] == best["step"]
    assert res["metrics"][best["monitor"]] == pytest.approx(best["value"], rel=1e-4)
