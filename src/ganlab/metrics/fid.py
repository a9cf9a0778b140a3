"""FID and KID on torchmetrics, with cacheable reference (real) statistics.

The math is torchmetrics' (FrechetInceptionDistance, KernelInceptionDistance with its unbiased
MMD^2 estimator and cubic polynomial kernel). Features are extracted once per batch here and
handed to both metrics through a pass-through module, so Inception runs once, not twice.
"""

from __future__ import annotations

import io
import pickle
import warnings
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


class _PassThrough(nn.Module):
    """Feature 'extractor' for torchmetrics: the inputs already are features."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: Tensor) -> Tensor:
        return x


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
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.kid import KernelInceptionDistance

        self.feature = feature
        d = _num_features(feature)
        self.num_features = d
        self.kid_subsets, self.kid_subset_size, self.kid_seed = kid_subsets, kid_subset_size, kid_seed
        # evaluation runs on rank 0 alone: no sync across processes (it would wait for the others)
        self.fid = FrechetInceptionDistance(feature=_PassThrough(d), reset_real_features=reset_real_features,
                                            sync_on_compute=False)
        with warnings.catch_warnings():  # "will save all extracted features": known, by design
            warnings.filterwarnings("ignore", message=".*save all extracted features.*")
            self.kid = KernelInceptionDistance(feature=_PassThrough(d), subsets=kid_subsets,
                                               subset_size=kid_subset_size,
                                               reset_real_features=reset_real_features, sync_on_compute=False)

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
        self.fid.update(f, real=real)
        self.kid.update(f, real=real)

    @property
    def n_real(self) -> int:
        return int(self.fid.real_features_num_samples)

    @property
    def n_fake(self) -> int:
        return int(self.fid.fake_features_num_samples)

    def compute(self) -> dict[str, float]:
        if self.n_real < 2 or self.n_fake < 2:
            raise MetricsError(f"FID/KID need >= 2 real and fake images (have {self.n_real} real, "
                               f"{self.n_fake} fake)")
        self.kid.subset_size = min(self.kid_subset_size, self.n_real, self.n_fake)
        with torch.random.fork_rng(devices=[]):  # KID's randperm draws from the global RNG
            torch.manual_seed(self.kid_seed)
            kid_mean, kid_std = self.kid.compute()
        return {"fid": float(self.fid.compute()), "kid": float(kid_mean), "kid_std": float(kid_std)}

    def feature_sets(self) -> tuple[Tensor, Tensor]:
        """(real, fake) features as accumulated (KID keeps them all): for precision / recall."""
        return torch.cat(self.kid.real_features), torch.cat(self.kid.fake_features)

    def reset(self) -> None:
        """Drop the fake features (and the real ones only if reset_real_features)."""
        self.fid.reset()
        self.kid.reset()

    def real_state(self) -> dict[str, Tensor]:
        """The real-side statistics (CPU tensors) to cache: FID sums and KID's real features."""
        kid = self.kid.real_features
        feats = torch.cat(kid) if kid else torch.zeros(0, self.num_features, dtype=torch.float64)
        return {"fid_sum": self.fid.real_features_sum.cpu().clone(),
                "fid_cov_sum": self.fid.real_features_cov_sum.cpu().clone(),
                "fid_n": self.fid.real_features_num_samples.cpu().clone(),
                "kid_features": feats.cpu().clone()}

    def load_real_state(self, state: dict[str, Tensor]) -> None:
        missing = [k for k in REAL_KEYS if k not in state]
        if missing:
            raise MetricsError(f"reference statistics lack {missing}")
        if state["fid_sum"].shape[-1] != self.num_features:
            raise MetricsError(f"reference statistics have {state['fid_sum'].shape[-1]} features, "
                               f"the extractor gives {self.num_features}: recompute the reference")
        dev = self.fid.real_features_sum.device
        self.fid.real_features_sum = state["fid_sum"].to(dev, torch.float64)
        self.fid.real_features_cov_sum = state["fid_cov_sum"].to(dev, torch.float64)
        self.fid.real_features_num_samples = state["fid_n"].to(dev, torch.long)
        self.kid.real_features = [state["kid_features"].to(dev, torch.float64)]
        self.fid._computed = self.kid._computed = None  # torchmetrics caches compute() until update

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
    import torchmetrics

    return {
        "implementation": f"torchmetrics {torchmetrics.__version__} FID/KID (unbiased KID, cubic kernel)",
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
