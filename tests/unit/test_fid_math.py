"""ganlab's FID / KID math (metrics.fid, no torchmetrics at run time) against torchmetrics' own
FrechetInceptionDistance and KernelInceptionDistance on the same random features."""

import warnings

import pytest
import torch

import ganlab.metrics.fid as fidmod
from ganlab.metrics.fid import FIDKID
from test_metrics_fid import Flat  # features = the flattened input

tm_fid = pytest.importorskip("torchmetrics.image.fid")
tm_kid = pytest.importorskip("torchmetrics.image.kid")


def features(n_real, n_fake, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n_real, d, generator=g, dtype=torch.float64)
    fake = 1.2 * torch.randn(n_fake, d, generator=g, dtype=torch.float64) + 0.3
    return real, fake


def torchmetrics_scores(real, fake, *, subsets, subset_size, seed):
    d = real.shape[1]
    fid = tm_fid.FrechetInceptionDistance(feature=Flat(d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kid = tm_kid.KernelInceptionDistance(feature=Flat(d), subsets=subsets, subset_size=subset_size)
    for m in (fid, kid):
        m.update(real, real=True)
        m.update(fake, real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    return {"fid": float(fid.compute()), "kid": float(kid_mean), "kid_std": float(kid_std)}


def ours(real, fake, *, subsets, subset_size, seed, batches=3):
    m = FIDKID(feature=Flat(real.shape[1]), kid_subsets=subsets, kid_subset_size=subset_size, kid_seed=seed)
    for chunk in real.chunk(batches):  # accumulated over batches, as an evaluation does
        m._update(chunk, real=True)
    for chunk in fake.chunk(batches):
        m._update(chunk, real=False)
    return m.compute()


@pytest.mark.parametrize("gram_budget", [fidmod.GRAM_BUDGET, 0], ids=["kernel-once", "per-subset"])
@pytest.mark.parametrize("n_real,n_fake,d,subsets,size", [(300, 200, 16, 20, 100), (120, 120, 8, 5, 120)])
def test_matches_torchmetrics_on_random_features(monkeypatch, gram_budget, n_real, n_fake, d, subsets, size):
    monkeypatch.setattr(fidmod, "GRAM_BUDGET", gram_budget)  # 0 forces torchmetrics' loop over subsets
    real, fake = features(n_real, n_fake, d)
    got = ours(real, fake, subsets=subsets, subset_size=size, seed=7)
    want = torchmetrics_scores(real, fake, subsets=subsets, subset_size=size, seed=7)
    assert got["fid"] == pytest.approx(want["fid"], rel=1e-5)
    assert got["kid"] == pytest.approx(want["kid"], rel=1e-5)  # the same subsets: same draws, same seed
    assert got["kid_std"] == pytest.approx(want["kid_std"], rel=1e-5, abs=1e-12)


def test_kid_subsets_are_reproducible_and_leave_the_global_rng_alone():
    real, fake = features(200, 150, 8, seed=1)
    state = torch.random.get_rng_state()
    a = ours(real, fake, subsets=10, subset_size=50, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert ours(real, fake, subsets=10, subset_size=50, seed=3) == a
    assert ours(real, fake, subsets=10, subset_size=50, seed=4)["kid"] != a["kid"]
