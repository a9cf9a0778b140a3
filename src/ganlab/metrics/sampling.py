"""What a sample costs: network evaluations per sample (an algorithm's `nfe`: 1 for a GAN, the
solver's evaluations for flow matching, the sampler's steps for DDPM) and samples per second of
`generate` on the run's device, timed after a warm-up call."""

from __future__ import annotations

import time

import torch

from ganlab.metrics.context import EvalContext


class SamplingCost:
    clocked = ("val/samples_per_s",)  # read off a clock: summary.json `timings`, not `metrics`

    def __init__(self, *, n_samples: int = 256):   # samples timed per evaluation
        self.n = n_samples
        self.protocol: dict = {}

    @torch.no_grad()
    def __call__(self, run: EvalContext) -> dict[str, float]:
        algo, device = run.algorithm, run.device
        algo.generate(min(8, self.n), device=device, seed=0)  # warm-up: lazy init, caches
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        algo.generate(self.n, device=device, seed=1)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        nfe = int(getattr(algo, "nfe", 1))
        self.protocol = {"implementation": "ganlab.metrics.sampling", "samples": self.n, "device": str(device),
                         "threads": torch.get_num_threads(), "nfe": nfe}
        return {"val/nfe": float(nfe), "val/samples_per_s": self.n / max(seconds, 1e-9)}
