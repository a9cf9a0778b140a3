"""The digit metrics on real data (metrics/digits.py, FIDKIDEvaluator with the digits classifier):
held-out real digits find ~all modes and a low Fréchet distance; a generator that emits one
digit finds few modes and a high one."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

import ganlab.data.judge as judge
from ganlab.training.build import build_evaluators

CONF = Path(__file__).resolve().parents[2] / "conf" / "data"


class Images:
    """A 'generator' that hands out given images, cycling (the evaluators' `generate`)."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def generate(self, n: int, *, device, seed: int) -> torch.Tensor:
        return self.images[(torch.arange(n) + seed) % len(self.images)].to(device)


class Context:
    """An EvalContext (metrics/context.py) over a data config and an image 'generator'."""

    def __init__(self, cfg, images):
        self.cfg, self.algorithm, self.device, self.step = cfg, Images(images), torch.device("cpu"), 0

    def dataset(self, split):
        return instantiate(self.cfg.data.dataset if split == "train" else self.cfg.data.test_dataset)

    def event(self, kind, message, **extra):
        pass


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    judge._LOADED.clear()
    return str(tmp_path_factory.mktemp("digits_cache"))


def _cfg(name: str, cache: str, **sizes):
    cfg = OmegaConf.create({"data": OmegaConf.load(CONF / f"{name}.yaml")})
    cfg.data.classifier.cache_dir = cache
    cfg.data.evaluators.fd_digits.cache_dir = cache
    for key, value in sizes.items():
        OmegaConf.update(cfg, key, value)
    return cfg


def _evaluate(cfg, images) -> tuple[dict, dict]:
    ctx, out, protocols = Context(cfg, images), {}, {}
    for name, ev in build_evaluators(cfg).items():
        out |= ev(ctx)
        protocols[name] = ev.protocol
    return out, protocols


def test_stacked_digits_real_finds_all_modes_one_digit_finds_one(cache):
    cfg = _cfg("stacked_digits", cache, **{"data.evaluators.modes.n_samples": 10_000,
                                           "data.evaluators.fd_digits.n_samples": 1000,
                                           "data.test_dataset.size": 1000})
    real = instantiate(cfg.data.test_dataset, size=11_000, seed=1).images[1000:]  # held-out digits, other draws
    good, protocols = _evaluate(cfg, real)
    assert good["val/modes"] >= 990  # 10k uniform draws miss ~0.05 of 1000 modes; the classifier ~2%
    # ~0.05 of it is 10k draws over 1000 bins ((K-1)/2N), ~0.05 the unequal digit counts of 297 held-out digits
    assert good["val/reverse_kl"] < 0.2
    one = real[:1].expand(1000, -1, -1, -1)  # mode collapse: one image
    bad, _ = _evaluate(cfg, one)
    assert bad["val/modes"] == 1 and bad["val/reverse_kl"] == pytest.approx(torch.log(torch.tensor(1000.)).item())
    assert bad["val/fd_digits"] > 10 * good["val/fd_digits"]
    assert protocols["modes"]["modes_total"] == 1000 and protocols["modes"]["classifier"]["accuracy_test"] >= 0.97
    assert protocols["fd_digits"]["feature_extractor"] == "digits"
    assert protocols["fd_digits"]["reference_split"] == "stacked_digits/test/x"
    assert protocols["fd_digits"]["feature_info"]["accuracy_test"] >= 0.97
    assert any(p.name.startswith("fidref_stacked_digits_test_x_digits_") for p in Path(cache).iterdir())


def test_digits_real_held_out_scores_low_fd_one_digit_high(cache):
    cfg = _cfg("digits", cache, **{"data.evaluators.modes.n_samples": 1000})
    train = instantiate(cfg.data.dataset).images  # real digits not in the reference (held-out) split
    good, _ = _evaluate(cfg, train)
    ones = train[instantiate(cfg.data.dataset).labels == 1]
    bad, _ = _evaluate(cfg, ones)
    assert good["val/modes"] == 10 and bad["val/modes"] <= 2
    assert good["val/reverse_kl"] < 0.01 and bad["val/reverse_kl"] > 1.5
    assert bad["val/fd_digits"] > 5 * good["val/fd_digits"]
    assert {"val/kid_digits", "val/precision_digits"} <= good.keys()
