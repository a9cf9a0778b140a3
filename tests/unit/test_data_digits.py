"""scikit-learn's digits and MNIST's files as ganlab data (data/digits.py) and ganlab's own digits
classifier (data/digits_classifier.py): shapes, ranges, determinism, the fixed split, 1,000
stacked modes, held-out accuracy and the weights cache. MNIST cannot be downloaded here: the tests
write small MNIST files (IDX format) whose digits are scikit-learn's, so a classifier can learn them."""

from pathlib import Path

import pytest
import torch

import ganlab.data.digits_classifier as dc
import ganlab.data.judge as judge
from conftest import digits_as_mnist
from ganlab.data.digits import TEST_SIZE, Digits, MNISTDigits, SklearnDigits, StackedDigits, load_split
from ganlab.data.errors import DataError
from ganlab.errors import ConfigError


@pytest.mark.parametrize("size", [16, 32])
def test_digits_shapes_range_and_labels(size):
    train, test = Digits(image_size=size), Digits(split="test", image_size=size)
    assert (len(train), len(test)) == (1797 - TEST_SIZE, TEST_SIZE)
    s = train[0]
    assert s["x"].shape == (1, size, size) and s["x"].dtype == torch.float32
    assert train.images.min() == -1 and train.images.max() == 1  # 0..16 mapped to [-1, 1]
    assert set(train.labels.tolist()) == set(range(10)) == set(test.labels.tolist())
    assert torch.equal(train.as_tensors()["x"], train.images)


def test_split_is_fixed_and_disjoint():
    (a, ya), (b, _) = load_split("train"), load_split("test")
    assert torch.equal(Digits().images, Digits().images)  # the same every time
    flat_a, flat_b = {tuple(x.flatten().tolist()) for x in a}, {tuple(x.flatten().tolist()) for x in b}
    # no held-out image is a training image (the raw set has a few exact duplicates: allow them)
    assert len(flat_a & flat_b) <= 3
    other = load_split("train", split_seed=1)[1]
    assert not torch.equal(ya, other)  # another split_seed, another permutation


def test_stacked_digits_three_channels_thousand_modes_deterministic():
    s = StackedDigits(size=20_000)
    x = s[0]["x"]
    assert x.shape == (3, 16, 16) and -1 <= x.min() and x.max() <= 1
    assert len(torch.unique(s.labels)) == 1000  # every digit triple occurs
    assert torch.equal(s.labels, StackedDigits(size=20_000).labels)
    assert torch.equal(StackedDigits(size=100).images, s.images[:100])  # sample i does not depend on size
    assert not torch.equal(StackedDigits(size=100, seed=1).labels, s.labels[:100])
    # each channel is a digit of the train split and the label spells the three digits
    train = Digits()
    i = 7
    for c, d in enumerate(f"{int(s.labels[i]):03d}"):
        match = (train.images[:, 0] == s.images[i, c]).flatten(1).all(1)
        assert match.any() and int(d) in train.labels[match].tolist()


def test_stacked_test_split_uses_held_out_digits_only():
    held = {tuple(x.flatten().tolist()) for x in Digits(split="test").images[:, 0]}
    t = StackedDigits(split="test", size=50)
    assert all(tuple(t.images[i, c].flatten().tolist()) in held for i in range(50) for c in range(3))


@pytest.mark.parametrize("kwargs, key", [
    ({"image_size": 5}, "data.image_size=5"), ({"channels": 3}, "data.channels=3"), ({"split": "val"}, "split='val'")])
def test_bad_digits_config_names_the_key(kwargs, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[")):
        Digits(**kwargs)


def test_bad_stacked_config_names_the_key():
    with pytest.raises(ConfigError, match="data.channels=1"):
        StackedDigits(channels=1)
    with pytest.raises(ConfigError, match="data.dataset.size=0"):
        StackedDigits(size=0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The default classifier at 16 px, trained once for this module into a fresh cache."""
    judge._LOADED.clear()
    clf = dc.DigitsClassifier(cache_dir=str(tmp_path_factory.mktemp("clf"))).ready()
    return clf


def test_classifier_is_accurate_on_the_held_out_split(trained):
    assert trained.info["loaded"] is False and trained.path.is_file()
    assert trained.digest == "a62d5ce81979"  # the recipe before MNIST: caches made then stay valid
    assert trained.info["accuracy_test"] >= 0.97 and trained.info["n_test"] == TEST_SIZE
    test = Digits(split="test")
    acc = (trained.classify(test.images)[:, 0] == test.labels).double().mean()
    assert acc == pytest.approx(trained.info["accuracy_test"])
    assert trained(torch.rand(4, 1, 16, 16)).shape == (4, 64)  # penultimate features, input in [0, 1]


def test_classifier_cache_is_reused_not_retrained(trained, monkeypatch):
    monkeypatch.setattr(judge, "_LOADED", {})  # a new process: only the file remains
    monkeypatch.setattr(dc, "train_classifier", lambda recipe, source: pytest.fail("retrained despite the cache"))
    again = dc.DigitsClassifier(cache_dir=str(trained.path.parent)).ready()
    assert again.info["loaded"] is True and again.info["accuracy_test"] == trained.info["accuracy_test"]
    for k, v in trained.net.state_dict().items():
        assert torch.equal(v, again.net.state_dict()[k])
    other = dc.DigitsClassifier(cache_dir=str(trained.path.parent), epochs=3)
    assert other.path != trained.path  # another recipe, another file: never the wrong weights


def test_classifier_training_is_deterministic(trained):
    recipe = {**trained.recipe, "epochs": 1}
    a, _ = dc.train_classifier(recipe, trained.source)
    b, _ = dc.train_classifier(recipe, trained.source)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_stacked_classifier_reads_each_channel(trained):
    clf = dc.DigitsClassifier(channels=3, cache_dir=str(trained.path.parent)).ready()
    s = StackedDigits(split="test", size=200)
    digits = clf.classify(s.images)
    labels = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    assert (labels == s.labels).double().mean() >= 0.9  # ~0.99^3
    assert clf((s.images[:4] + 1) / 2).shape == (4, 3 * 64)


# -- MNIST ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory) -> Path:
    return digits_as_mnist(tmp_path_factory.mktemp("mnist"))


def test_mnist_source_pads_to_32_and_stacks_three_digits(mnist_root):
    src = MNISTDigits(root=str(mnist_root))
    x, y = src.load("train")
    assert x.shape == (600, 32, 32) and len(y) == 600 and 0 <= x.min() and x.max() <= 1
    assert torch.all(x[:, :2] == 0) and torch.all(x[:, :, -2:] == 0)  # the 2 px pad
    s = StackedDigits(size=500, image_size=32, source=src)
    assert s.images.shape == (500, 3, 32, 32) and len(torch.unique(s.labels)) > 300
    assert torch.equal(s.labels, StackedDigits(size=500, image_size=16, source=src).labels)  # seeded draws
    i = 3
    for c, d in enumerate(f"{int(s.labels[i]):03d}"):  # each channel is a train digit of that label
        match = ((x * 2 - 1) == s.images[i, c]).flatten(1).all(1)
        assert match.any() and int(d) in y[match].tolist()
    assert Digits(split="test", image_size=16, source=src).images.shape == (200, 1, 16, 16)


def test_missing_mnist_files_say_how_to_get_them(tmp_path):
    with pytest.raises(DataError, match=r"MNIST not found under .*nope.*torchvision\.datasets\.MNIST.*data\.root="):
        MNISTDigits(root=str(tmp_path / "nope"))


def test_classifier_on_mnist_is_accurate_cached_by_content(mnist_root, tmp_path, monkeypatch):
    monkeypatch.setattr(judge, "_LOADED", {})
    src = MNISTDigits(root=str(mnist_root))
    clf = dc.DigitsClassifier(image_size=32, channels=3, epochs=15, source=src, cache_dir=str(tmp_path)).ready()
    assert clf.info["data"] == MNISTDigits.name and clf.info["n_train"] == 600 and clf.info["n_test"] == 200
    assert clf.info["accuracy_test"] >= 0.9 and clf.recipe["data"].startswith("MNIST 600 train / 200 test, sha1 ")
    sk = dc.DigitsClassifier(image_size=32, channels=3, epochs=15, cache_dir=str(tmp_path))
    assert sk.digest != clf.digest and sk.source.name == SklearnDigits.name  # never the other source's weights
    s = StackedDigits(split="test", size=200, image_size=32, source=src)
    d = clf.classify(s.images)
    assert ((d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]) == s.labels).double().mean() >= 0.7
    other = digits_as_mnist(tmp_path / "other", n_train=500)  # other files: another cache entry
    assert dc.DigitsClassifier(image_size=32, source=MNISTDigits(root=str(other)), cache_dir=str(tmp_path)).digest != \
        dc.DigitsClassifier(image_size=32, source=src, cache_dir=str(tmp_path)).digest
