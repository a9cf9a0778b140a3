"""`ganlab eval` on real finished runs."""

import json

TINY = ["debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=64", "trainer.device=cpu"]


def test_eval_writes_eval_json_beside_the_checkpoint(ganlab, tmp_path, fast_run):
    ckpt = fast_run / "checkpoints" / "last.pt"  # `ganlab train debug=fast ...`, as TINY
    p = ganlab("eval", str(ckpt), "--metrics", "fid,kid", "--feature", "random_conv", "--n", "64", "--device", "cpu",
               "--cache-dir", "cache")
    res = json.loads((ckpt.parent / "eval.json").read_text())
    # the run's own FID proxy (data.evaluators.fid_proxy: with precision, recall...) and the --metrics pass
    assert {"val/fid_random_conv", "val/kid_random_conv", "val/precision_random_conv"} <= set(res["metrics"])
    assert res["metrics"]["val/fid_random_conv"] > 0
    proto = res["protocols"]["fid"]
    assert proto["n_fake"] == 64 and "random_conv" in json.dumps(proto)
    assert res["protocols"]["fid_proxy"]["n_fake"] == 64  # --n: every FID pass
    assert list((tmp_path / "cache").glob("fidref_shapes_train_x_random_conv_16px_64_*.pt"))
    assert "val/fid_random_conv=" in p.stdout


def test_eval_without_inception_weights_names_the_key(ganlab, tiny_run):
    p = ganlab("eval", str(tiny_run / "checkpoints" / "last.pt"), "--metrics", "fid", check=False)
    assert p.returncode == 2
    assert "--weights-path" in p.stderr and "pt_inception-2015-12-05" in p.stderr
    assert not (tiny_run / "checkpoints" / "eval.json").exists()


def test_eval_mode_metrics_of_a_2d_run(ganlab, tmp_path):
    ganlab("train", "model=mlp", "data=ring8", "debug=fast", "trainer.device=cpu", "hydra.run.dir=run")
    ganlab("eval", str(tmp_path / 'run/checkpoints/last.pt'), "--metrics", "modes", "--device", "cpu")
    res = json.loads((tmp_path / "run" / "checkpoints" / "eval.json").read_text())
    assert {"val/modes", "val/hq"} <= set(res["metrics"])
    p = ganlab("eval", str(tmp_path / 'run/checkpoints/last.pt'), "--metrics", "nope", check=False)
    assert p.returncode == 2 and "modes" in p.stderr


def test_train_with_fid_but_no_inception_weights_fails_at_start(ganlab, tmp_path):
    p = ganlab("train", *TINY, "metrics=fid", "hydra.run.dir=run", check=False)
    assert p.returncode == 2 and "metrics.fid.feature.weights_path" in p.stderr and "metrics=fid_proxy" in p.stderr
    assert not (tmp_path / "run").exists()  # at start: nothing created, no step trained
