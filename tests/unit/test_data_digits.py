"""scikit-learn's digits as ganlab data (data/digits.py) and ganlab's own digits classifier
(data/digits_classifier.py): shapes, ranges, determinism, the fixed split, 1,000 stacked modes,
held-out accuracy and the weights cache."""

import pytest
import torch

import ganlab.data.digits_classifier as dc
from ganlab.data.digits import TEST_SIZE, Digits, StackedDigits, load_split
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
    dc._LOADED.clear()
    clf = dc.DigitsClassifier(cache_dir=str(tmp_path_factory.mktemp("clf"))).ready()
    return clf


def test_classifier_is_accurate_on_the_held_out_split(trained):
    assert trained.info["loaded"] is False and trained.path.is_file()
    assert trained.info["accuracy_test"] >= 0.97 and trained.info["n_test"] == TEST_SIZE
    test = Digits(split="test")
    acc = (trained.classify(test.images)[:, 0] == test.labels).double().mean()
    assert acc == pytest.approx(trained.info["accuracy_test"])
    assert trained(torch.rand(4, 1, 16, 16)).shape == (4, 64)  # penultimate features, input in [0, 1]


def test_classifier_cache_is_reused_not_retrained(trained, monkeypatch):
    monkeypatch.setattr(dc, "_LOADED", {})  # a new process: only the file remains
    monkeypatch.setattr(dc, "train_classifier", lambda recipe: pytest.fail("retrained despite the cache"))
    again = dc.DigitsClassifier(cache_dir=str(trained.path.parent)).ready()
    assert again.info["loaded"] is True and again.info["accuracy_test"] == trained.info["accuracy_test"]
    for k, v in trained.net.state_dict().items():
        assert torch.equal(v, again.net.state_dict()[k])
    other = dc.DigitsClassifier(cache_dir=str(trained.path.parent), epochs=3)
    assert other.path != trained.path  # another recipe, another file: never the wrong weights


def test_classifier_training_is_deterministic(trained):
    recipe = {**trained.recipe, "epochs": 1}
    a, _ = dc.train_classifier(recipe)
    b, _ = dc.train_classifier(recipe)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_stacked_classifier_reads_each_channel(trained):
    clf = dc.DigitsClassifier(channels=3, cache_dir=str(trained.path.parent)).ready()
    s = StackedDigits(split="test", size=200)
    digits = clf.classify(s.images)
    labels = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    assert (labels == s.labels).double().mean() >= 0.9  # ~0.99^3
    assert clf((s.images[:4] + 1) / 2).shape == (4, 3 * 64)
