"""The shapes metric (metrics/shapes.py with data/shapes_classifier.py): held-out real shapes are
recognised and hit all 12 classes; the blobs of a GAN that has not learnt the outlines (real
shapes blurred, outlines halfway between two shapes) are not. Its classifier is trained once for
the module (~20-50 CPU seconds), in a temporary cache."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

import ganlab.data.shapes_classifier as sc
from ganlab.data.synthetic import SHAPES, Shapes
from ganlab.metrics.errors import MetricsError
from ganlab.metrics.shapes import ShapesRecognised

CONF = Path(__file__).resolve().parents[2] / "conf" / "metrics" / "shapes.yaml"
HELD_OUT = 7  # a seed neither the data (0) nor the classifier's train (1000) and test (2000) sets use


@pytest.fixture(scope="module")
def metric(tmp_path_factory) -> ShapesRecognised:
    """metrics=shapes as shipped, its cache in a temporary folder."""
    cfg = OmegaConf.load(CONF)
    cfg.shapes.classifier.image_size = 32
    cfg.shapes.classifier.cache_dir = str(tmp_path_factory.mktemp("shapes_cache"))
    m = instantiate(cfg.shapes)
    m.classifier.ready()
    return m


def real(n: int, image_size: int = 32) -> torch.Tensor:
    ds = Shapes(size=n, image_size=image_size, seed=HELD_OUT)
    return torch.stack([ds[i]["x"] for i in range(n)])


def score(metric, images):
    return metric.scores(images.split(250), torch.device("cpu"))


def test_held_out_real_shapes_are_recognised_in_all_classes(metric):
    s = score(metric, real(600))
    assert s["val/shapes_recognised"] >= 0.95 and s["val/shape_classes"] == 12
    info = metric.classifier.info  # its own held-out set, recorded with the weights
    assert info["real_recognised_test"] >= 0.95 and info["real_misclassified_test"] <= 0.01
    assert info["negatives_recognised_test"] <= 0.03


def test_blurred_shapes_and_blends_are_not(metric):
    images = real(300)
    blurred = torch.stack([sc.blur(x, 0.06 * 32) for x in images])
    assert score(metric, blurred)["val/shapes_recognised"] <= 0.05
    ds = Shapes(size=1, image_size=32, seed=HELD_OUT)
    blends = []
    for i in range(240):  # halfway between two shapes (rounded squares, fat crosses...), sharp-edged
        a, b = SHAPES[i % 4], SHAPES[(i % 4 + 1 + (i // 4) % 3) % 4]  # two different shapes
        d = 0.5 * ds.distance(a, 0.0, 0.0, 0.5) + 0.5 * ds.distance(b, 0.0, 0.0, 0.5)
        blends.append(ds.paint(ds.coverage(d), sc.RGB[i % 3], 0.08))
    s = score(metric, torch.stack(blends))
    assert s["val/shapes_recognised"] <= 0.1 and s["val/shape_classes"] <= 2


def test_a_generator_of_one_class_hits_one_class(metric):
    images = real(600)
    one = images[torch.arange(600) % 12 == 9]  # red crosses only
    s = score(metric, one.repeat(12, 1, 1, 1))
    assert s["val/shapes_recognised"] >= 0.95 and s["val/shape_classes"] == 1


def test_cached_weights_are_loaded_and_keyed_by_recipe(metric):
    clf = metric.classifier
    again = sc.ShapesClassifier(cache_dir=str(clf.path.parent)).ready()
    assert clf.path.is_file() and again.path == clf.path
    assert all(torch.equal(a, b) for a, b in zip(again.net.state_dict().values(), clf.net.state_dict().values()))
    assert sc.ShapesClassifier(cache_dir=str(clf.path.parent), epochs=3).path != clf.path


def test_evaluate_on_a_run_context(metric):
    class Algo:
        def generate(self, n, *, device, seed):
            return real(n)

    class Run:
        algorithm, device, step = Algo(), torch.device("cpu"), 0

    small = ShapesRecognised(classifier=metric.classifier, n_samples=240, batch_size=120)
    out = small(Run())
    assert out["val/shapes_recognised"] >= 0.9 and out["val/shape_classes"] == 12
    assert small.protocol["samples"] == 240 and small.protocol["classifier"]["real_recognised_test"] >= 0.95


def test_a_classifier_without_probs_is_refused():
    with pytest.raises(MetricsError, match="needs a probs"):
        ShapesRecognised(classifier=torch.nn.Linear(1, 1))
