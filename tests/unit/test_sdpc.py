"""SDPC's pieces (models/sdpc.py, models/sdpc_gan.py) without the command: the top-down path is the
adjoint of the bottom-up one, FISTA lowers the reconstruction error with non-negative sparse codes,
and the fusion networks pass G's gradient through the unrolled inference but not into the atoms."""

import pytest
import torch

from ganlab.errors import ConfigError
from ganlab.models.sdpc import SDPC, local_mean
from ganlab.models.sdpc_gan import SparseCodeDiscriminator, SparseCodeGenerator

LAYERS = [{"atoms": 8, "size": 5, "stride": 2, "sparsity": 0.02, "feedback": 0.5},
          {"atoms": 16, "size": 3, "stride": 2, "sparsity": 0.02}]


def _images(n=4, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def test_decode_is_the_adjoint_of_encode_at_every_layer():
    net = SDPC(channels=3, image_size=16, layers=LAYERS)
    sizes = net.sizes((16, 16))
    assert sizes == [(16, 16), (8, 8), (4, 4)] and net.top_shape == (16, 4, 4)
    below, chans = _images(), [3, 8]
    for i in range(2):
        x = torch.randn(2, chans[i], *sizes[i])
        c = torch.randn(2, net.dicts[i].shape[0], *sizes[i + 1])
        w = net.atoms(i)
        lhs = (net.encode(i, x, w) * c).sum()
        rhs = (x * net.decode(i, c, w, sizes[i])).sum()
        assert torch.allclose(lhs, rhs, rtol=1e-4), i
    assert net.generate_down(torch.rand(2, *net.top_shape)).shape == below[:2].shape


def test_fista_lowers_the_error_with_non_negative_codes_and_sparsity_follows_lambda():
    from ganlab.data.synthetic import Shapes
    data = Shapes(size=4, image_size=16, channels=3, seed=0)
    x = torch.stack([data[i]["x"] for i in range(4)])
    net = SDPC(channels=3, image_size=16, layers=LAYERS, n_iter=30)
    xc, mean = net.split_mean(x)
    assert torch.allclose(xc.mean(dim=(2, 3)), torch.zeros(4, 3), atol=1e-6)
    codes, curve = net.infer(xc, track=True)
    energy = float(xc.pow(2).mean())   # the error of the all-zero code
    assert len(curve) == 30 and curve[-1] < 0.85 * curve[0] < 0.85 * energy   # random atoms: a modest fit
    assert all((c >= 0).all() for c in codes)
    sparse = SDPC(channels=3, image_size=16, n_iter=30, layers=[dict(layer, sparsity=0.5) for layer in LAYERS])
    dense_frac = (codes[0] > 0).float().mean()
    assert (sparse.infer(xc)[0][0] > 0).float().mean() < dense_frac
    # the dictionaries' loss reaches the atoms only
    loss, errors = net.dictionary_loss(xc, codes)
    loss.backward()
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in net.dicts) and len(errors) == 2


def test_whitening_subtracts_a_local_mean_that_keeps_constants():
    x = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(local_mean(x, 2.0), x, atol=1e-6)
    net = SDPC(channels=3, image_size=16, layers=LAYERS, whiten=2.0)
    xc, mean = net.split_mean(_images())
    assert mean.shape == xc.shape and torch.allclose(xc + mean, _images(), atol=1e-6)


def test_a_sparse_code_discriminator_passes_gradient_to_the_image_not_to_the_atoms():
    sdpc = SDPC(channels=3, image_size=16, layers=LAYERS, n_iter=5)
    D = SparseCodeDiscriminator(sdpc=sdpc, image_size=16, channels=3, width=4, pixels=False, n_iter=5)
    x = _images().requires_grad_(True)
    D(x).sum().backward()
    assert x.grad.abs().sum() > 0                           # through the unrolled FISTA (codes only)
    assert all(w.grad is None for w in sdpc.dicts)          # the atoms learn by reconstruction only
    with pytest.raises(ConfigError, match="layers"):
        SparseCodeDiscriminator(sdpc=SDPC(channels=3, image_size=16, layers=[dict(LAYERS[0], stride=1)]),
                                image_size=16)


def test_a_sparse_code_generator_draws_images_through_the_top_down_path():
    sdpc = SDPC(channels=3, image_size=16, layers=LAYERS)
    G = SparseCodeGenerator(sdpc=sdpc, z_dim=8, image_size=16, hidden=16)
    out = G(torch.randn(5, 8))
    assert out.shape == (5, 3, 16, 16) and out.abs().max() <= 1
    out.sum().backward()
    assert all(w.grad is not None for w in sdpc.dicts)      # the atoms learn from G's gradient


def test_bad_layers_are_config_errors():
    with pytest.raises(ConfigError, match=r"layers\[0\]"):
        SDPC(layers=[{"atoms": 0, "size": 3}])
    with pytest.raises(ConfigError, match="whiten"):
        SDPC(layers=LAYERS, whiten=-1)
