"""Mode-coverage metrics for the 2D Gaussian mixtures (ring8, grid25); `histogram_metrics` also
serves the stacked digits (metrics/digits.py).

Protocol (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018): draw 2500 samples; a sample
is *high quality* (HQ) if its Euclidean distance to the nearest mode centre is at most
3 standard deviations; a mode is *captured* if it is the nearest centre of at least one HQ
sample (PacGAN's rule; VEEGAN instead asked for a minimum count per mode — not used here);
*reverse KL* is KL(q_model || p_true) between the histogram of HQ samples over modes and the
uniform distribution over the K modes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def mode_metrics(samples: Tensor, centers: Tensor, std: float, *, hq_sigmas: float = 3.0) -> dict:
    """Modes captured, high-quality fraction and reverse KL of `samples` (N, 2) against a mixture
    with mode `centers` (K, 2) and isotropic `std`.

    Returns ``{"modes": int, "hq": float in [0, 1], "reverse_kl": float}``.

    Reverse KL: q is the normalised histogram of HQ samples over their nearest modes, p = 1/K.
    Since p is never zero, empty bins of q need no epsilon: they contribute 0 * log 0 = 0 (the
    limit, via ``torch.xlogy``), so one captured mode gives exactly log K and a perfect spread 0.
    With no HQ sample at all q is undefined and reverse_kl is NaN (modes and hq are then 0).
    """
    samples = torch.as_tensor(samples).detach().double().cpu().reshape(-1, 2)
    centers = torch.as_tensor(centers).detach().double().cpu().reshape(-1, 2)
    k = centers.shape[0]
    dist = torch.cdist(samples, centers)  # (N, K)
    d_min, nearest = dist.min(dim=1)
    hq = d_min <= hq_sigmas * float(std)
    return {**histogram_metrics(torch.bincount(nearest[hq], minlength=k)),
            "hq": float(hq.double().mean()) if len(samples) else 0.0}


def histogram_metrics(counts: Tensor) -> dict:
    """Modes captured (bins with >= 1 sample) and reverse KL(q || uniform) of a histogram of
    samples over K modes (K = len(counts)): the 2D mixtures' and the stacked digits' (1,000 modes)."""
    counts = torch.as_tensor(counts).double()
    k, n = counts.numel(), counts.sum()
    if n > 0:
        q = counts / n
        reverse_kl = float(torch.xlogy(q, q * k).sum())  # sum q log(q / (1/K))
    else:
        reverse_kl = math.nan
    return {"modes": int((counts > 0).sum()), "reverse_kl": reverse_kl}


def scatter_figure(samples: Tensor, centers: Tensor, std: float, *, hq_sigmas: float = 3.0):
    """A matplotlib Figure of `samples` over the true modes, each drawn with its HQ circle
    (radius hq_sigmas * std), for TensorBoard or a PNG. Uses the Agg backend (no display)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    pts = torch.as_tensor(samples).detach().float().cpu().reshape(-1, 2).numpy()
    ctr = torch.as_tensor(centers).detach().float().cpu().reshape(-1, 2).numpy()
    # Figure() directly (not pyplot): no global figure registry, so nothing leaks between calls
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4, color="tab:blue", label="samples")
    ax.scatter(ctr[:, 0], ctr[:, 1], s=12, marker="x", color="tab:red", label="modes")
    for cx, cy in ctr:
        ax.add_patch(Circle((cx, cy), hq_sigmas * float(std), fill=False, color="tab:red", lw=0.8))
    m = mode_metrics(samples, centers, std, hq_sigmas=hq_sigmas)
    title = f"modes {m['modes']}/{len(ctr)}  hq {m['hq']:.2f}  rKL {m['reverse_kl']:.3f}"
    ax.set_title(title, fontsize=12)  # legible where the figure is shown at its native 400 px
    # frame on the true modes (with margin), so a diverged G does not shrink the mixture to a dot
    span = max(float(ctr.max() - ctr.min()), 1e-3)
    lo, hi = float(ctr.min()) - 0.25 * span, float(ctr.max()) + 0.25 * span
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    return fig
