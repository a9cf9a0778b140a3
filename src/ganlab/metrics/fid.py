"""FID and KID with cacheable reference (real) statistics.

The definitions are torchmetrics' (FrechetInceptionDistance; KernelInceptionDistance: the unbiased
MMD^2 with the cubic polynomial kernel over random subsets), written out here in a few lines
(`frechet_distance`, `kid`) so an evaluation does not import torchmetrics (SciPy, matplotlib);
tests/unit/test_fid_math.py checks them against torchmetrics. Features feed both metrics, so
Inception runs once, not twice.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import torch
from torch import Tensor, nn

from ganlab.files import atomic_write_bytes
from ganlab.metrics.errors import MetricsError

REAL_KEYS = ("fid_sum", "fid_cov_sum", "fid_n", "kid_features")
# how images reach the extractor (recorded in protocols)
RESIZES = {
    "legacy": "the extractor's own (Inception: torch-fidelity's TF1-compatible bilinear resize to 299)",
    "clean": "clean-fid's: quantised to uint8 as saved images, then an antialiased bicubic resize (PIL's filter, "
             "torch antialias=True) to the extractor's input size; Inception gets it re-quantised to uint8 "
             "(torch-fidelity takes uint8 only; clean-fid keeps floats)",
}


def clean_resize(x: Tensor, size: int | None) -> Tensor:
    """clean-fid's protocol on images in [0, 1]: uint8 quantisation, then an antialiased bicubic
    resize to `size` (None: the quantisation only), clamped back to [0, 1]."""
    x = (x.float() * 255).round().clamp(0, 255) / 255
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bicubic", antialias=True,
                                            align_corners=False).clamp(0, 1)
    return x


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> Tensor:
    """||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 sqrt(sigma1 sigma2)), the trace of the square root
    as the sum of the square roots of the eigenvalues of sigma1 @ sigma2 (torchmetrics' way)."""
    c = torch.linalg.eigvals(sigma1 @ sigma2).sqrt().real.sum(dim=-1)
    return (mu1 - mu2).square().sum(dim=-1) + sigma1.trace() + sigma2.trace() - 2 * c


def poly_kernel(f1: Tensor, f2: Tensor) -> Tensor:
    """KID's kernel: (x.y / d + 1)^3."""
    return (f1 @ f2.T * (1.0 / f1.shape[1]) + 1.0) ** 3


GRAM_BUDGET = 2 ** 25  # kernel entries (float64: 256 MB) KID may hold at once


def kid(real: Tensor, fake: Tensor, *, subsets: int, subset_size: int,
        generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Mean and (population) std over `subsets` random subsets of the unbiased MMD^2, each subset
    `subset_size` real and as many fake rows drawn with randperm (as torchmetrics draws them).

    When cheaper (many subsets of few rows), the kernel is evaluated once on all rows and each
    subset's sums read off it with 0/1 masks instead of 3 kernels per subset: the same sums."""
    nr, nf, m = real.shape[0], fake.shape[0], subset_size
    picks = [(torch.randperm(nr, generator=generator)[:m], torch.randperm(nf, generator=generator)[:m])
             for _ in range(subsets)]
    gram = nr * nr + nf * nf + nr * nf
    if gram <= GRAM_BUDGET and gram * (real.shape[1] + subsets) < 3 * subsets * m * m * real.shape[1]:
        mr = torch.zeros(subsets, nr, dtype=real.dtype, device=real.device)
        mf = torch.zeros(subsets, nf, dtype=real.dtype, device=real.device)
        for s, (r, f) in enumerate(picks):
            mr[s, r.to(real.device)], mf[s, f.to(real.device)] = 1, 1
        krr, kff = poly_kernel(real, real), poly_kernel(fake, fake)
        xx = ((mr @ krr) * mr).sum(1) - mr @ krr.diagonal()   # off-diagonal sums within each subset
        yy = ((mf @ kff) * mf).sum(1) - mf @ kff.diagonal()
        xy = ((mr @ poly_kernel(real, fake)) * mf).sum(1)
    else:
        sums = []
        for r, f in picks:
            x, y = real[r.to(real.device)], fake[f.to(fake.device)]
            kxx, kyy = poly_kernel(x, x), poly_kernel(y, y)
            sums.append(torch.stack([kxx.sum() - kxx.diagonal().sum(), kyy.sum() - kyy.diagonal().sum(),
                                     poly_kernel(x, y).sum()]))
        xx, yy, xy = torch.stack(sums).unbind(1)
    scores = (xx + yy) / (m * (m - 1)) - 2 * xy / (m * m)
    return scores.mean(), scores.std(unbiased=False)


class FIDKID(nn.Module):
    """Accumulates real and fake features; `compute()` gives FID, KID mean and KID std.

    Images are floats in [-1, 1], (B, C, H, W), 1 or 3 channels; they are mapped to [0, 1] and
    the extractor does the rest (Inception quantises to uint8 and resizes to 299). KID subsets
    are clamped to the available sample count and drawn from a fixed seed (reproducible).
    """

    def __init__(self, *, feature: nn.Module, kid_subsets: int = 100, kid_subset_size: int = 1000,
                 reset_real_features: bool = False, kid_seed: int = 0,
                 resize: str = "legacy"):   # legacy | clean: how images reach the extractor (RESIZES)
        super().__init__()
        if resize not in RESIZES:
            raise MetricsError(f"resize={resize!r}: choose {' or '.join(RESIZES)}")
        self.resize = resize
        self.feature = feature
        d = _num_features(feature)
        self.num_features = d
        self.kid_subsets, self.kid_subset_size, self.kid_seed = kid_subsets, kid_subset_size, kid_seed
        self.reset_real_features = reset_real_features
        # FID's running sums (float64) as buffers, so .to(device) moves them; KID keeps every feature
        for side in ("real", "fake"):
            self.register_buffer(f"{side}_sum", torch.zeros(d, dtype=torch.float64))
            self.register_buffer(f"{side}_cov_sum", torch.zeros(d, d, dtype=torch.float64))
            self.register_buffer(f"{side}_n", torch.zeros((), dtype=torch.long))
        self.real_features: list[Tensor] = []
        self.fake_features: list[Tensor] = []

    @torch.no_grad()
    def features(self, images: Tensor) -> Tensor:
        x = (images + 1) / 2  # keeps the dtype: an identity extractor sees exactly (x + 1) / 2
        if self.resize == "clean":
            x = clean_resize(x, getattr(self.feature, "input_size", None))
        return self.feature(x).double()  # float64 so the covariance sums do not lose precision

    def update_real(self, images: Tensor) -> None:
        self._update(self.features(images), real=True)

    def update_fake(self, images: Tensor) -> None:
        self._update(self.features(images), real=False)

    def _update(self, f: Tensor, *, real: bool) -> None:
        side = "real" if real else "fake"
        getattr(self, f"{side}_sum").add_(f.sum(dim=0))
        getattr(self, f"{side}_cov_sum").add_(f.t().mm(f))
        getattr(self, f"{side}_n").add_(f.shape[0])
        getattr(self, f"{side}_features").append(f)

    @property
    def n_real(self) -> int:
        return int(self.real_n)

    @property
    def n_fake(self) -> int:
        return int(self.fake_n)

    def _moments(self, side: str) -> tuple[Tensor, Tensor]:
        n, total, cov_sum = getattr(self, f"{side}_n"), getattr(self, f"{side}_sum"), getattr(self, f"{side}_cov_sum")
        mean = total / n
        return mean, (cov_sum - n * torch.outer(mean, mean)) / (n - 1)

    def compute(self) -> dict[str, float]:
        if self.n_real < 2 or self.n_fake < 2:
            raise MetricsError(f"FID/KID need >= 2 real and fake images (have {self.n_real} real, "
                               f"{self.n_fake} fake)")
        fid = frechet_distance(*self._moments("real"), *self._moments("fake"))
        real, fake = self.feature_sets()
        kid_mean, kid_std = kid(real, fake, subsets=self.kid_subsets,
                                subset_size=min(self.kid_subset_size, self.n_real, self.n_fake),
                                generator=torch.Generator().manual_seed(self.kid_seed))
        return {"fid": float(fid), "kid": float(kid_mean), "kid_std": float(kid_std)}

    def feature_sets(self) -> tuple[Tensor, Tensor]:
        """(real, fake) features as accumulated (KID keeps them all): for precision / recall."""
        def cat(fs):
            return torch.cat(fs) if fs else torch.zeros(0, self.num_features, dtype=torch.float64,
                                                         device=self.real_sum.device)
        return cat(self.real_features), cat(self.fake_features)

    def reset(self) -> None:
        """Drop the fake features (and the real ones only if reset_real_features)."""
        for side in ("real", "fake") if self.reset_real_features else ("fake",):
            for name in ("sum", "cov_sum", "n"):
                getattr(self, f"{side}_{name}").zero_()
            setattr(self, f"{side}_features", [])

    def real_state(self) -> dict[str, Tensor]:
        """The real-side statistics (CPU tensors) to cache: FID sums and KID's real features."""
        return {"fid_sum": self.real_sum.cpu().clone(), "fid_cov_sum": self.real_cov_sum.cpu().clone(),
                "fid_n": self.real_n.cpu().clone(), "kid_features": self.feature_sets()[0].cpu().clone()}

    def load_real_state(self, state: dict[str, Tensor]) -> None:
        missing = [k for k in REAL_KEYS if k not in state]
        if missing:
            raise MetricsError(f"reference statistics lack {missing}")
        if state["fid_sum"].shape[-1] != self.num_features:
            raise MetricsError(f"reference statistics have {state['fid_sum'].shape[-1]} features, "
                               f"the extractor gives {self.num_features}: recompute the reference")
        dev = self.real_sum.device
        self.real_sum = state["fid_sum"].to(dev, torch.float64)
        self.real_cov_sum = state["fid_cov_sum"].to(dev, torch.float64)
        self.real_n = state["fid_n"].to(dev, torch.long).reshape(())
        self.real_features = [state["kid_features"].to(dev, torch.float64)]

    def protocol(self, *, reference_split: str, image_size: int | tuple[int, int] | None) -> dict:
        return protocol(feature=self.feature, n_real=self.n_real, n_fake=self.n_fake,
                        reference_split=reference_split, image_size=image_size,
                        kid_subsets=self.kid_subsets,
                        kid_subset_size=min(self.kid_subset_size, self.n_real, self.n_fake), resize=self.resize)


def _num_features(feature: nn.Module) -> int:
    n = getattr(feature, "num_features", None)
    if n is None:
        raise MetricsError("the feature extractor needs a `num_features` attribute")
    return int(n)


def protocol(*, feature: nn.Module, n_real: int, n_fake: int, reference_split: str,
             image_size: int | tuple[int, int] | None, kid_subsets: int, kid_subset_size: int,
             resize: str = "legacy") -> dict:
    """What a reported FID/KID was computed with (recorded next to the numbers)."""
    return {
        "implementation": "ganlab.metrics.fid: torchmetrics' FID/KID definitions (unbiased KID, cubic kernel)",
        "feature_extractor": getattr(feature, "extractor_name", type(feature).__name__),
        "feature_dims": _num_features(feature),
        "comparable_to_published": bool(getattr(feature, "comparable", False)),
        "n_real": int(n_real),
        "n_fake": int(n_fake),
        "reference_split": reference_split,
        "image_size": (list(image_size) if isinstance(image_size, (tuple, list))
                       else None if image_size is None else int(image_size)),
        "kid_subsets": int(kid_subsets),
        "kid_subset_size": int(kid_subset_size),
        "resize": resize,
        "resize_detail": RESIZES[resize],
    }


def save_reference(path: str | Path, state: dict[str, Tensor], protocol: dict) -> None:
    """Write reference statistics atomically (ganlab.files.atomic_write_bytes), so
    a crash or a concurrent reader never sees a half-written cache."""
    buf = io.BytesIO()
    torch.save({"state": {k: v.cpu() for k, v in state.items()}, "protocol": protocol}, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_reference(path: str | Path) -> tuple[dict[str, Tensor], dict]:
    """(state, protocol) from `save_reference`; weights_only=True, so no code runs on load."""
    try:
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        return blob["state"], blob["protocol"]
    except (OSError, RuntimeError, KeyError, TypeError, EOFError, pickle.UnpicklingError) as e:
        raise MetricsError(f"cannot read FID reference statistics {path}: {e}") from e
