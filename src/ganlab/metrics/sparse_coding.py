"""A sparse coder's held-out quality (model=sdpc, and the GANs with an SDPC part): the algorithm's
own `code_stats(x)` per image — reconstruction error in pixels of layer 1's code
(`val/sdpc_recon_mse`) and of the top code through the whole generative path
(`val/sdpc_recon_mse_top`), each layer's fraction of non-zero code units
(`val/sdpc_sparsity_l<i>`) — averaged over the test split (the train split when the data has none).
An algorithm without codes records nothing."""

from __future__ import annotations

import torch

from ganlab.errors import ConfigError
from ganlab.metrics.context import EvalContext


class SparseCodingEvaluator:
    def __init__(self, *, n_samples: int = 256, batch_size: int = 64):
        for key, value in {"n_samples": n_samples, "batch_size": batch_size}.items():
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key}={value!r}: must be an integer >= 1")
        self.n, self.bs = n_samples, batch_size
        self.protocol: dict = {}

    @torch.no_grad()
    def __call__(self, run: EvalContext) -> dict[str, float]:
        algo = run.algorithm
        if not hasattr(algo, "code_stats"):
            self.protocol = {"implementation": "ganlab.metrics.sparse_coding", "note": "this algorithm has no codes"}
            return {}
        split = "test" if run.dataset("test") is not None else "train"
        data = run.dataset(split)
        n = min(self.n, len(data))
        sums: dict[str, float] = {}
        for start in range(0, n, self.bs):
            x = torch.stack([data[i]["x"] for i in range(start, min(n, start + self.bs))]).to(run.device)
            for k, v in algo.code_stats(x).items():
                sums[k] = sums.get(k, 0.0) + float(v.double().sum())
        self.protocol = {"implementation": "ganlab.metrics.sparse_coding", "samples": n,
                         "split": f"{run.cfg.data.name}/{split}",
                         "units": "MSE of centred images in [-1, 1]; sparsity = fraction of non-zero code units"}
        return {k: v / n for k, v in sums.items()}
