import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from ganlab.metrics.errors import MetricsError
from ganlab.metrics.features import INCEPTION_FILENAME, InceptionFeatures, RandomConvFeatures, feature_node
from ganlab.metrics.fid import FIDKID, load_reference, save_reference


class Flat(nn.Module):
    """Identity-like extractor: the features are the flattened input, so tests set them."""

    def __init__(self, d: int):
        super().__init__()
        self.num_features = d

    def forward(self, x):
        return x.flatten(1)


def as_images(f: torch.Tensor) -> torch.Tensor:
    # FIDKID maps images x in [-1, 1] to (x + 1) / 2 before the extractor: invert that
    return (2 * f - 1).reshape(len(f), 1, 1, -1)


def frechet(mu1, s1, mu2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def gaussian(n, mu, cov, seed):
    g = torch.Generator().manual_seed(seed)
    chol = torch.linalg.cholesky(torch.as_tensor(cov, dtype=torch.float64))
    return torch.as_tensor(mu, dtype=torch.float64) + torch.randn(n, len(mu), generator=g, dtype=torch.float64) @ chol.T


def test_identical_sets_give_zero():
    ext = RandomConvFeatures(dims=16)
    imgs = torch.rand(100, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    m = FIDKID(feature=ext, kid_subsets=10, kid_subset_size=50)
    m.update_real(imgs)
    m.update_fake(imgs)
    r = m.compute()
    assert abs(r["fid"]) < 1e-3
    assert abs(r["kid"]) < 1e-3  # not exactly 0: real and fake KID subsets are drawn independently


def test_fid_matches_analytic_frechet_distance():
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.0, -1.0])
    a = np.array([[1.0, 0.3, 0.0], [0.3, 0.5, 0.1], [0.0, 0.1, 2.0]])
    b = np.array([[0.6, -0.2, 0.0], [-0.2, 1.2, 0.0], [0.0, 0.0, 0.8]])
    real, fake = gaussian(20000, mu1, a, 1), gaussian(20000, mu2, b, 2)
    m = FIDKID(feature=Flat(3), kid_subsets=5, kid_subset_size=500)
    for chunk in real.split(5000):  # accumulation over batches
        m.update_real(as_images(chunk))
    m.update_fake(as_images(fake))
    fid = m.compute()["fid"]
    # exact against the sample moments (what FID estimates), close to the population value
    moments = [(x.mean(0).numpy(), np.cov(x.numpy(), rowvar=False)) for x in (real, fake)]
    assert fid == pytest.approx(frechet(*moments[0], *moments[1]), rel=1e-6)
    assert fid == pytest.approx(frechet(mu1, a, mu2, b), rel=0.05)


def poly_kernel(p, q, d):
    return (p @ q.T / d + 1) ** 3  # torchmetrics' kernel: gamma = 1/d, coef 1, degree 3


def test_kid_is_unbiased():
    d, n, draws = 4, 20, 150
    kids, biased = [], []
    for i in range(draws):
        x, y = gaussian(n, [0.0] * d, np.eye(d), 2 * i), gaussian(n, [0.0] * d, np.eye(d), 2 * i + 1)
        m = FIDKID(feature=Flat(d), kid_subsets=1, kid_subset_size=n)
        m.update_real(as_images(x))
        m.update_fake(as_images(y))
        kids.append(m.compute()["kid"])
        kxx, kyy, kxy = poly_kernel(x, x, d), poly_kernel(y, y, d), poly_kernel(x, y, d)
        biased.append(float(kxx.mean() + kyy.mean() - 2 * kxy.mean()))  # V-statistic, diagonals kept
    kids, biased = np.array(kids), np.array(biased)
    se = kids.std() / np.sqrt(draws)
    assert abs(kids.mean()) < 3 * se  # zero within noise
    assert biased.mean() > 10 * se  # the V-statistic is clearly positive


def test_missing_inception_weights_is_a_clear_error(tmp_path, monkeypatch):
    def no_download(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    import torch_fidelity.feature_extractor_inceptionv3 as tfi
    monkeypatch.setattr(tfi, "load_state_dict_from_url", no_download)
    for path in (None, tmp_path / "nope.pth"):
        with pytest.raises(MetricsError) as e:
            InceptionFeatures(weights_path=path)
        assert "metrics.fid.feature.weights_path" in str(e.value) and INCEPTION_FILENAME in str(e.value)
        assert "github.com/toshas/torch-fidelity/releases" in str(e.value)
    with pytest.raises(MetricsError, match="unknown feature extractor 'vgg': choose inception or random_conv"):
        feature_node("vgg")


def test_random_conv_is_deterministic():
    imgs = torch.rand(4, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    f1 = RandomConvFeatures(dims=8, seed=3)(imgs)
    torch.manual_seed(123)  # the global RNG plays no part
    f2 = RandomConvFeatures(dims=8, seed=3)(imgs)
    f3 = RandomConvFeatures(dims=8, seed=4)(imgs)
    assert f1.shape == (4, 8) and torch.equal(f1, f2) and not torch.allclose(f1, f3)
    u8 = (imgs * 255).round().byte()  # uint8 input means the same as float / 255
    assert torch.equal(RandomConvFeatures(dims=8, seed=3)(u8),
                       RandomConvFeatures(dims=8, seed=3)(u8.float() / 255))


def test_reference_cache_round_trip(tmp_path):
    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(60, 3, 8, 8, generator=g) * 2 - 1, torch.rand(40, 3, 8, 8, generator=g) * 1.5 - 1
    ext = RandomConvFeatures(dims=8)
    m = FIDKID(feature=ext, kid_subsets=20, kid_subset_size=30)
    m.update_real(real)
    m.update_fake(fake)
    expected = m.compute()
    proto = m.protocol(reference_split="train", image_size=8)
    save_reference(tmp_path / "ref" / "stats.pt", m.real_state(), proto)
    assert [p.name for p in (tmp_path / "ref").iterdir()] == ["stats.pt"]  # no temp file left

    state, proto2 = load_reference(tmp_path / "ref" / "stats.pt")
    assert proto2 == proto and proto["n_real"] == 60 and proto["feature_extractor"] == "random_conv"
    assert proto["comparable_to_published"] is False and proto["implementation"].startswith("ganlab.metrics.fid")
    m2 = FIDKID(feature=RandomConvFeatures(dims=8), kid_subsets=20, kid_subset_size=30)
    m2.load_real_state(state)
    m2.update_fake(fake)
    assert m2.compute() == pytest.approx(expected, rel=1e-9)

    assert m.protocol(reference_split="x", image_size=None)["image_size"] is None
    m.reset()  # keeps the real side by default
    assert m.n_real == 60 and m.n_fake == 0
    with pytest.raises(MetricsError, match="8 features"):
        FIDKID(feature=Flat(3)).load_real_state(state)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(MetricsError):
        load_reference(tmp_path / "bad.pt")


def test_inception_wrapper_with_local_weights(tmp_path, monkeypatch):
    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    # random weights of the right shapes, made without any download, stand in for the real file
    with monkeypatch.context() as mp:
        mp.setattr(tfi, "load_state_dict_from_url", lambda *a, **k: {})
        mp.setattr(tfi.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        sd = tfi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]).state_dict()
    path = tmp_path / INCEPTION_FILENAME
    torch.save(sd, path)
    ext = InceptionFeatures(weights_path=str(path), dims=64)
    assert ext.num_features == 64 and ext.comparable
    gray = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    f = ext(gray)  # float [0, 1], 1 channel, any size: quantised, repeated to RGB, resized to 299
    assert f.shape == (2, 64) and torch.isfinite(f).all()
    assert torch.equal(f, ext((gray * 255).round().byte().expand(-1, 3, -1, -1)))


def test_extractor_is_chosen_by_target_and_names_itself(tmp_path):
    from ganlab.config import compose
    from ganlab.errors import ConfigError
    from ganlab.metrics.evaluators import FIDKIDEvaluator
    from ganlab.training.build import build_node

    cfg = compose(["metrics=fid_proxy"])
    state = torch.random.get_rng_state()
    for key, node in (("data.evaluators.fid_proxy", cfg.data.evaluators.fid_proxy),
                      ("metrics.fid_proxy", cfg.metrics.fid_proxy)):
        ev = build_node(node, key)
        assert isinstance(ev, FIDKIDEvaluator) and isinstance(ev.feature, RandomConvFeatures)
        assert ev.feature.extractor_name == ev.feature_name == "random_conv" and ev.suffix == "_random_conv"
    assert torch.equal(torch.random.get_rng_state(), state)  # building it leaves training's RNG alone
    with pytest.raises(MetricsError, match=r"^metrics.fid: metrics.fid.feature.weights_path is not set"):
        build_node(compose(["metrics=fid"]).metrics.fid, "metrics.fid")
    with pytest.raises(ConfigError, match="feature='random_conv': must be an extractor node"):
        FIDKIDEvaluator(feature="random_conv")  # the old string form
    path = tmp_path / INCEPTION_FILENAME
    path.write_bytes(b"")  # checked to exist at build; read only at the first use
    ext = build_node(feature_node("inception", path), "--feature")
    assert isinstance(ext, InceptionFeatures) and ext.extractor_name == "inception" and ext.net is None
    assert build_node(feature_node("random_conv", path), "--feature").extractor_name == "random_conv"


def test_old_checkpoint_evaluators_are_upgraded():
    from ganlab.training.resume import upgrade_config

    old = {"data": {"evaluators": {"fid_proxy": {"_target_": "ganlab.metrics.evaluators.FIDKID",
                                                 "feature": "random_conv", "n_samples": 10}}},
           "metrics": {"fid": {"_target_": "ganlab.metrics.evaluators.FIDKID", "feature": "inception",
                               "weights_path": "w.pth"}}}
    new = upgrade_config(old)
    assert new["data"]["evaluators"]["fid_proxy"] == {
        "_target_": "ganlab.metrics.evaluators.FIDKIDEvaluator", "n_samples": 10,
        "feature": {"_target_": "ganlab.metrics.features.RandomConvFeatures"}}
    assert new["metrics"]["fid"]["feature"] == {"_target_": "ganlab.metrics.features.InceptionFeatures",
                                                "weights_path": "w.pth"}
    assert "weights_path" not in new["metrics"]["fid"]
