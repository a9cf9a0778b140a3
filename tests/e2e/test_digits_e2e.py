"""End-to-end, the real `ganlab` command on scikit-learn's digits and on MNIST's files (written by
the test: no download here): tiny runs whose summary.json holds the digit metrics (val/modes,
val/reverse_kl, val/fd_digits) and their protocols, saying which digits they were judged on."""

import pytest

from conftest import digits_as_mnist, summary

TINY = ["trainer.max_steps=4", "model.width=8", "data.batch_size=16", "trainer.device=cpu"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    """One classifier cache for the module: the second run loads what the first trained."""
    return str(tmp_path_factory.mktemp("digits_cache"))


def test_dcgan_on_stacked_digits_reports_modes_and_fd(ganlab, tmp_path, cache):
    ganlab("train", "model=dcgan", "data=stacked_digits", *TINY, "data.dataset.size=256", "data.test_dataset.size=300",
           "data.evaluators.modes.n_samples=1000", "data.evaluators.fd_digits.n_samples=300",
           f"data.classifier.cache_dir={cache}", "hydra.run.dir=run")
    s = summary(tmp_path / "run")
    assert s["status"] == "ok" and s["step"] == 4
    m = s["metrics"]
    assert 1 <= m["val/modes"] <= 1000 and m["val/reverse_kl"] >= 0 and m["val/fd_digits"] > 0
    assert s["best"]["monitor"] == "val/modes"
    modes, fd = s["protocols"]["modes"], s["protocols"]["fd_digits"]
    assert modes["modes_total"] == 1000 and modes["samples"] == 1000
    assert modes["classifier"]["accuracy_test"] >= 0.97 and modes["classifier"]["loaded"] is False
    assert fd["feature_extractor"] == "digits" and fd["reference_split"] == "stacked_digits/test/x"
    assert fd["feature_dims"] == 3 * 64


def test_dcgan_on_stacked_mnist_judges_modes_with_a_classifier_trained_on_mnist(ganlab, tmp_path):
    root = digits_as_mnist(tmp_path / "mnist")
    ganlab("train", "model=dcgan", "data=stacked_mnist", f"data.root={root}", *TINY, "data.image_size=16",
           "data.dataset.size=256", "data.test_dataset.size=300", "data.evaluators.modes.n_samples=1000",
           "data.evaluators.fd_digits.n_samples=300", "data.classifier.epochs=15",  # 600 digits, not 60,000
           "hydra.run.dir=run")
    s = summary(tmp_path / "run")
    assert s["status"] == "ok" and 1 <= s["metrics"]["val/modes"] <= 1000 and s["metrics"]["val/fd_digits"] > 0
    modes, fd = s["protocols"]["modes"], s["protocols"]["fd_digits"]
    assert modes["digits"].startswith("MNIST") and modes["modes_total"] == 1000  # StackedMNIST, not StackedDigits
    clf = modes["classifier"]
    assert clf["data"].startswith("MNIST") and clf["recipe"]["data"].startswith("MNIST 600 train / 200 test, sha1")
    assert clf["accuracy_test"] >= 0.9 and clf["n_test"] == 200
    assert (tmp_path / "data" / "cache").is_dir() and clf["cache"].startswith("data/cache/digits_classifier_")
    assert fd["reference_split"] == "stacked_mnist/test/x" and fd["feature_info"]["data"].startswith("MNIST")


def test_stacked_mnist_without_the_files_is_one_line_exit_2_nothing_created(ganlab, tmp_path):
    p = ganlab("train", "data=stacked_mnist", "trainer.max_steps=2", "trainer.device=cpu", check=False)
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "MNIST not found under data/mnist" in lines[0], p.stderr
    assert "torchvision.datasets.MNIST('data/mnist', download=True)" in lines[0] and "data.root=" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no outputs/, no data/cache


def test_cgan_on_digits_reports_fd_and_reuses_the_classifier(ganlab, tmp_path, cache):
    ganlab("train", "model=cgan", "data=digits", *TINY, "data.evaluators.modes.n_samples=500",
           "data.evaluators.fd_digits.n_samples=300", f"data.classifier.cache_dir={cache}", "hydra.run.dir=run")
    s = summary(tmp_path / "run")
    assert s["status"] == "ok"
    assert s["best"]["monitor"] == "val/fd_digits" and s["metrics"]["val/fd_digits"] > 0
    assert 1 <= s["metrics"]["val/modes"] <= 10
    assert s["protocols"]["modes"]["modes_total"] == 10
    assert s["protocols"]["fd_digits"]["reference_split"] == "digits/test/x"


@pytest.mark.parametrize("args, key", [
    (["data=digits", "data.image_size=5"], "image_size=5"),
    (["data=digits", "data.channels=3"], "data.channels=3"),
    (["data=stacked_digits", "data.dataset.size=0"], "data.dataset.size"),
])
def test_bad_digits_input_is_one_line_exit_2_nothing_created(ganlab, tmp_path, args, key):
    p = ganlab("train", *args, "trainer.max_steps=2", "trainer.device=cpu", check=False)
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and key in lines[0], p.stderr
    assert not (tmp_path / "outputs").exists()
