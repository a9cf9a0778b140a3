"""D overfitting made visible: D's output on held-out real images next to its output on the
images it trains on (Karras et al. 2020, fig. 1: on small data the two part ways long before the
samples show it). Logged as val/d_real_train, val/d_real_heldout and their difference
val/d_overfit_gap (in train/d_real's units: probabilities for bce), and D's accuracy on each
(val/d_acc_train, val/d_acc_heldout: the fraction rated real) where the loss has a decision line.
The health watch flags a lasting gap as a `d_overfit` event."""

from __future__ import annotations

import torch

from ganlab.errors import ConfigError
from ganlab.metrics.context import EvalContext


def _collate(dataset, start: int, stop: int) -> dict[str, torch.Tensor]:
    items = [dataset[i] for i in range(start, stop)]
    return {k: torch.stack([it[k] for it in items]) for k, v in items[0].items() if isinstance(v, torch.Tensor)}


class DOverfit:
    def __init__(self, *, heldout,          # real images D never trains on (data.test_dataset)
                 n_images: int = 500,       # of each: the first n of the training and held-out sets
                 batch_size: int = 64):     # D rates them in batches of this size (its BatchNorm sees them)
        if heldout is None:
            raise ConfigError("needs held-out real images, and data.test_dataset is null: set data.test_dataset "
                              "(e.g. the same embedded data with another seed: experiment=small_data does)")
        if n_images < 1 or batch_size < 2:
            raise ConfigError(f"n_images={n_images}, batch_size={batch_size}: need n_images >= 1, batch_size >= 2")
        self.heldout, self.n, self.bs = heldout, n_images, batch_size
        self.protocol: dict = {}

    def _rate(self, run: EvalContext, dataset) -> torch.Tensor:
        n = min(self.n, len(dataset))
        scores = []
        for start in range(0, n, self.bs):
            batch = _collate(dataset, start, min(n, start + self.bs))
            scores.append(run.algorithm.rate_real({k: v.to(run.device) for k, v in batch.items()}).float().cpu())
        return torch.cat(scores)

    @torch.no_grad()
    def __call__(self, run: EvalContext) -> dict[str, float]:
        train, held = self._rate(run, run.dataset("train")), self._rate(run, self.heldout)
        out = {"val/d_real_train": float(train.mean()), "val/d_real_heldout": float(held.mean())}
        out["val/d_overfit_gap"] = out["val/d_real_train"] - out["val/d_real_heldout"]
        thr = run.algorithm.loss.threshold
        if thr is not None:
            out["val/d_acc_train"] = float((train > thr).float().mean())
            out["val/d_acc_heldout"] = float((held > thr).float().mean())
        self.protocol = {"implementation": "ganlab.metrics.overfit", "heldout": "data.test_dataset",
                         "n_train": int(train.shape[0]), "n_heldout": int(held.shape[0]),
                         "batch_size": self.bs, "images": "un-augmented", "d_mode": "training (batch statistics)"}
        return out
