import math

import pytest
import torch

from ganlab.metrics.modes import mode_metrics, scatter_figure

K, STD = 8, 0.01
CENTERS = torch.stack([torch.tensor([math.cos(2 * math.pi * i / K), math.sin(2 * math.pi * i / K)])
                       for i in range(K)])


def mixture(n: int, modes: list[int], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.tensor(modes)[torch.arange(n) % len(modes)]
    return CENTERS[idx] + STD * torch.randn(n, 2, generator=g)


def test_true_mixture_captures_all_modes():
    m = mode_metrics(mixture(2500, list(range(K))), CENTERS, STD)
    assert m["modes"] == K
    assert m["hq"] > 0.98  # 2D Gaussian: P(r <= 3 std) = 1 - exp(-4.5) = 0.989
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-3)


def test_single_mode_gives_log_k():
    m = mode_metrics(mixture(2500, [3]), CENTERS, STD)
    assert m["modes"] == 1
    assert m["reverse_kl"] == pytest.approx(math.log(K), abs=1e-9)


def test_half_the_modes_gives_log_2():
    m = mode_metrics(mixture(2500, [0, 2, 4, 6]), CENTERS, STD)
    assert m["modes"] == K // 2
    assert m["reverse_kl"] == pytest.approx(math.log(2), abs=1e-3)


def test_far_samples_capture_nothing():
    m = mode_metrics(torch.full((2500, 2), 10.0), CENTERS, STD)
    assert m["modes"] == 0 and m["hq"] == 0.0
    assert math.isnan(m["reverse_kl"])  # undefined without high-quality samples


def test_hq_threshold_is_in_std_units():
    pts = CENTERS[:1] + torch.tensor([[2.9 * STD, 0.0], [3.1 * STD, 0.0]])
    m = mode_metrics(pts, CENTERS, STD)
    assert m["hq"] == 0.5 and m["modes"] == 1
    assert mode_metrics(pts, CENTERS, STD, hq_sigmas=4.0)["hq"] == 1.0


def test_scatter_figure(tmp_path):
    fig = scatter_figure(mixture(200, list(range(K))), CENTERS, STD)
    assert len(fig.axes[0].patches) == K  # one 3-std circle per mode
    fig.savefig(tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 0
