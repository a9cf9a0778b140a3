"""Precision, recall (Kynkäänniemi et al., NeurIPS 2019), density and coverage (Naeem et al.,
ICML 2020) of generated features against real ones: fidelity and diversity reported apart,
where FID mixes them into one number.

Each real (generated) sample owns a ball reaching its k-th nearest real (generated) neighbour.
- precision: the fraction of generated samples inside some real ball (fidelity);
- recall: the fraction of real samples inside some generated ball (diversity);
- density: how many real balls hold each generated sample, / k, averaged (1 when the two sets
  are alike; can exceed 1);
- coverage: the fraction of real balls holding at least one generated sample.

Precision and recall are computed as torch-fidelity's `metric_prc` computes them (the same
cdist calls, `<=` at the ball's edge); density and coverage are the few lines of Naeem et al.'s
definition (`<`). All four share the three distance matrices (real-real, fake-fake, real-fake),
which torch-fidelity's function would compute again. The tests check all four against the
authors' `prdc` package and precision/recall against torch-fidelity (dev dependencies).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganlab.metrics.errors import MetricsError


def kth_neighbour_radii(x: Tensor, k: int) -> Tensor:
    """Distance of each row of x to its k-th nearest other row."""
    return torch.cdist(x, x).kthvalue(k + 1, dim=1).values  # the 1st "neighbour" is the row itself


def prdc(real: Tensor, fake: Tensor, *, k: int = 5) -> dict[str, float]:
    """The four metrics of generated features `fake` (M, D) against real features `real` (N, D)."""
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise MetricsError(f"precision/recall: features must be (N, D) and (M, D), got {tuple(real.shape)} "
                           f"and {tuple(fake.shape)}")
    if min(real.shape[0], fake.shape[0]) <= k:
        raise MetricsError(f"precision/recall with k={k} need more than {k} real and generated samples "
                           f"(have {real.shape[0]} and {fake.shape[0]})")
    real, fake = real.double(), fake.double()
    radii, fake_radii = kth_neighbour_radii(real, k), kth_neighbour_radii(fake, k)
    dist = torch.cdist(real, fake)                         # (N, M)
    precision = (dist <= radii[:, None]).any(0).float().mean()       # generated j inside some real ball
    recall = (dist <= fake_radii[None, :]).any(1).float().mean()     # real i inside some generated ball
    inside = dist < radii[:, None]   # (N, M): generated j inside real ball i
    return {"precision": float(precision), "recall": float(recall),
            "density": float(inside.sum(0).double().mean() / k),
            "coverage": float(inside.any(1).double().mean())}
