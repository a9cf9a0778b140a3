import math

import pytest
import torch
import torch.nn.functional as F

from ganlab.metrics import masks as mm

S = 48


def disk(cx: float = 0.5, cy: float = 0.5, r: float = 0.3, size: int = S) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    return (((xx - cx) ** 2 + (yy - cy) ** 2) <= r * r).float()[None, None]


def background(size: int = S) -> torch.Tensor:
    yy, _ = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    return torch.stack([0.4 + 0.3 * yy, 0.6 + 0.2 * yy, 0.9 - 0.6 * yy])[None]  # sky to grass, [0, 1]


def striped(angle: float, period: float, blur: bool = False) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(S, dtype=torch.float), torch.arange(S, dtype=torch.float), indexing="ij")
    s = (torch.sin(2 * math.pi * (xx * math.cos(angle) + yy * math.sin(angle)) / period) > 0).float()
    m = disk()
    img = background() * (1 - m) + s.expand(1, 3, S, S) * m
    if blur:  # soft edges, as a generator would make
        k = torch.tensor([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
        img = F.conv2d(img.transpose(0, 1), k[None, None], padding=1).transpose(0, 1)
    return img * 2 - 1


def brown(shaded: bool = True) -> torch.Tensor:
    _, xx = torch.meshgrid(torch.linspace(0, 1, S), torch.linspace(0, 1, S), indexing="ij")
    fill = torch.tensor([0.55, 0.35, 0.2]).view(1, 3, 1, 1) * ((0.85 + 0.3 * xx) if shaded else 1)
    fill = fill + 0.02 * torch.randn(1, 3, S, S, generator=torch.Generator().manual_seed(0))
    m = disk()
    return (background() * (1 - m) + fill * m) * 2 - 1


def test_mask_iou_known_values():
    a = torch.zeros(1, 1, 4, 4)
    a[..., :2, :] = 0.9  # top half predicted
    t = torch.zeros(1, 1, 4, 4)
    t[..., :, :2] = 1  # left half true: intersection 4, union 12
    assert mm.mask_iou(a, t) == pytest.approx(4 / 12)
    assert mm.mask_iou(t, t) == 1.0
    assert mm.mask_iou(a * 0.5 / 0.9, t) == 0.0  # 0.5 is not above the threshold
    # dataset-level pooling: (4 + 16) / (12 + 16), not the mean of 1/3 and 1
    full = torch.ones(1, 1, 4, 4)
    assert mm.mask_iou(torch.cat([a, full]), torch.cat([t, full])) == pytest.approx(20 / 28)
    assert mm.iou_per_image(torch.cat([a, full]), torch.cat([t, full])).tolist() == pytest.approx([1 / 3, 1])


def test_background_l1_ignores_the_object():
    inp = torch.zeros(2, 3, 8, 8)
    mask = torch.zeros(2, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1
    out = inp.clone()
    out[..., 2:6, 2:6] = 1.0  # object changed completely: no background penalty
    assert mm.background_l1(out, inp, mask) == 0.0
    out[0, :, 0, :] = 1.0  # one background row of image 0 shifted by 1 in [-1,1] = 0.5 in [0,1]
    n_bg = 2 * (64 - 16)
    assert mm.background_l1(out, inp, mask) == pytest.approx(8 * 0.5 / n_bg)
    assert mm.background_l1_per_image(out, inp, mask).tolist() == pytest.approx([8 * 0.5 / 48, 0])


def rings(period: float, cx: float = 0.5, cy: float = 0.5) -> torch.Tensor:
    """Concentric black/white rings centred at (cx, cy) (fractions of the image) inside the disk."""
    yy, xx = torch.meshgrid(torch.arange(S, dtype=torch.float), torch.arange(S, dtype=torch.float), indexing="ij")
    r = torch.sqrt((xx - cx * (S - 1)) ** 2 + (yy - cy * (S - 1)) ** 2)
    return fill((torch.sin(2 * math.pi * r / period) > 0).float())


def checkerboard(period: float, angle: float = 0.0) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(S, dtype=torch.float), torch.arange(S, dtype=torch.float), indexing="ij")
    u, v = xx * math.cos(angle) + yy * math.sin(angle), yy * math.cos(angle) - xx * math.sin(angle)
    return fill(((torch.sin(2 * math.pi * u / period) > 0) ^ (torch.sin(2 * math.pi * v / period) > 0)).float())


def noise(seed: int, smooth: bool = False) -> torch.Tensor:
    n = torch.rand(1, 1, S, S, generator=torch.Generator().manual_seed(seed))
    if smooth:  # blotches a few pixels wide, stretched back to [0, 1]
        n = F.avg_pool2d(n, 3, 1, 1)
        n = (n - n.min()) / (n.max() - n.min())
    return fill(n[0, 0])


def fill(values: torch.Tensor) -> torch.Tensor:
    """Grey values (S, S) in [0, 1] inside the disk, the sky-to-grass background outside, in [-1, 1]."""
    m = disk()
    return (background() * (1 - m) + values.expand(1, 3, S, S) * m) * 2 - 1


STRIPE_MIN = 0.5  # the threshold translation_success uses


@pytest.mark.parametrize("degrees", [0, 30, 45, 90, 120])
@pytest.mark.parametrize("period", [4, 7, 10, 14])
def test_stripes_score_high_at_every_angle_and_frequency(degrees, period):
    angle = math.radians(degrees)
    assert mm.stripedness(striped(angle, period), disk()) > 0.85
    assert mm.stripedness(striped(angle, period, blur=True), disk()) > 0.85


@pytest.mark.parametrize("period", [4, 6, 8, 12])
def test_rings_and_checkerboards_score_low(period):
    assert mm.stripedness(rings(period), disk()) < 0.05
    assert mm.stripedness(checkerboard(period), disk()) < 0.05
    assert mm.stripedness(checkerboard(period, math.pi / 4), disk()) < 0.05
    # rings centred near the object's edge: arcs, partly stripe-like, still below the threshold
    assert mm.stripedness(rings(period, 0.2, 0.3), disk()) < (0.3 if period < 12 else STRIPE_MIN)


@pytest.mark.parametrize("seed", [0, 1])
def test_noise_scores_low(seed):
    assert mm.stripedness(noise(seed), disk()) < 0.05
    assert mm.stripedness(noise(seed, smooth=True), disk()) < 0.05


@pytest.mark.parametrize("shaded", [False, True])
def test_brown_blobs_score_low(shaded):
    assert mm.stripedness(brown(shaded), disk()) < 0.05


def test_one_edge_is_not_stripes():
    two_tone = torch.zeros(S, S)
    two_tone[:, S // 2:] = 1  # half black, half white: one edge
    one_band = torch.zeros(S, S)
    one_band[:, S // 3: 2 * S // 3] = 1  # a single white band
    assert mm.stripedness(fill(two_tone), disk()) < 0.05
    assert mm.stripedness(fill(one_band), disk()) < 0.05
    # the object outline against the background is not a stripe
    white_on_black = disk().expand(1, 3, S, S) * 2 - 1
    assert mm.stripedness(white_on_black, disk()) < 0.05


def test_stripedness_edge_cases():
    assert math.isnan(mm.stripedness(striped(0.3, 5), torch.zeros(1, 1, S, S)))
    s = mm.stripedness_per_image(torch.cat([striped(0.3, 5), brown()]), torch.cat([disk(), disk()]))
    assert s[0] > 0.85 and s[1] < 0.05
    tiny = torch.zeros(1, 1, S, S)
    tiny[..., 20:22, 20:22] = 1  # 4 pixels: no room for a period
    assert mm.stripedness(striped(0.3, 5), tiny) == 0.0


def test_oscillation_is_the_old_score_that_rings_fool():
    """The former val/stripe, kept under the name of what it measures."""
    assert mm.oscillation(striped(0.4, 7), disk()) > 0.9
    assert mm.oscillation(brown(), disk()) < 0.2
    assert mm.oscillation(rings(6), disk()) > 0.9 and mm.oscillation(checkerboard(6), disk()) > 0.9
    assert math.isnan(mm.oscillation(brown(), torch.zeros(1, 1, S, S)))


def test_translation_success_counts_images_meeting_all_criteria():
    inp = torch.cat([brown()] * 4)
    mask = torch.cat([disk()] * 4)
    good = background() * 2 - 1
    good = good * (1 - disk()) + (striped(0.7, 6)) * disk()
    out = torch.cat([good, good, brown(), good])  # image 2 is not striped
    attn = mask.clone()
    attn[3] = 1.0  # image 3: attention covers everything, IoU ~ 0.28
    out[1, :, :10] += 0.8  # image 1: top background rows changed (L1 ~ 0.1)
    assert mm.translation_success(attn, out, inp, mask) == pytest.approx(0.25)
    assert mm.translation_success(attn, out, inp, mask, iou_min=0.2) == pytest.approx(0.5)


def test_mask_stats_and_collapse():
    a = torch.zeros(1, 1, 10, 10)
    a[..., :5, :] = 1.0
    a[..., 5, :] = 0.5
    st = mm.mask_stats(a)
    assert st == pytest.approx({"coverage": 0.55, "low": 0.4, "high": 0.5})
    assert mm.mask_collapsed(st) is None
    assert mm.mask_collapsed(mm.mask_stats(torch.zeros(2, 1, 8, 8))) == "all-0"
    assert mm.mask_collapsed(mm.mask_stats(torch.full((2, 1, 8, 8), 0.99))) == "all-1"
    almost = torch.ones(1, 1, 10, 10)
    almost[..., 0, :3] = 0.5  # 97% saturated: below the 0.98 tolerance
    assert mm.mask_collapsed(mm.mask_stats(almost)) is None
