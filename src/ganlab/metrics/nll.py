"""Negative log-likelihood on held-out data in bits/dim (`val/nll_bpd`), by the algorithm's own
estimator (`algorithm.nll(x, g=..., **options)`: VAE IWAE, flow ODE, DDPM bound; see
algorithms/likelihood.py). A family without a likelihood (the GANs) records nothing, so that
`ganlab compare` shows "-" in a sweep over families rather than a misleading 0.

Units: images in [-1, 1] from 8-bit data are dequantised (pixel k -> (k + u) / 128 - 1, u ~ U[0, 1))
and the NLL is reported for the pixel values in [0, 256) (the change of variables adds ln 128 per
dimension), as in the literature (Ho et al., Lipman et al.: CIFAR-10 ~3 bits/dim). 2D points are
continuous already: bits/dim of the points in data units (the net's units times data.scale)."""

from __future__ import annotations

import math

import torch

from ganlab.errors import ConfigError
from ganlab.metrics.context import EvalContext
from ganlab.ode import SOLVERS


class NLLEvaluator:
    def __init__(self, *, n_samples: int = 512,    # held-out samples (test split; train if the data has none)
                 batch_size: int = 128,
                 k: int = 64,                       # VAE: IWAE importance samples
                 ode_steps: int = 20, ode_solver: str = "midpoint",  # flow: the ODE from data to noise
                 probes: int = 1,                   # flow: Hutchinson probes per divergence
                 t_samples: int | None = 100,       # DDPM: timesteps per sample in the bound; null = all T
                 reverse_var: str = "beta"):        # DDPM: reverse variance beta_t | posterior (beta~_t)
        # checked here, before the run dir exists, not at the first evaluation
        for key, value in {"n_samples": n_samples, "batch_size": batch_size, "k": k, "ode_steps": ode_steps,
                           "probes": probes, "t_samples": 1 if t_samples is None else t_samples}.items():
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key}={value!r}: must be an integer >= 1")
        if ode_solver not in SOLVERS:
            raise ConfigError(f"ode_solver={ode_solver!r}: choose one of {', '.join(SOLVERS)}")
        if reverse_var not in ("beta", "posterior"):
            raise ConfigError(f"reverse_var={reverse_var!r}: choose beta or posterior")
        self.n, self.bs = n_samples, batch_size
        self.options = {"k": k, "ode_steps": ode_steps, "ode_solver": ode_solver, "probes": probes,
                        "t_samples": t_samples, "reverse_var": reverse_var}
        self.protocol: dict = {}

    @torch.no_grad()
    def __call__(self, run: EvalContext) -> dict[str, float]:
        algo = run.algorithm
        if not hasattr(algo, "nll"):  # a GAN: no likelihood to estimate
            self.protocol = {"implementation": "ganlab.metrics.nll", "estimator": "none: this family has no likelihood"}
            return {}
        split = "test" if run.dataset("test") is not None else "train"
        data = run.dataset(split)
        n = min(self.n, len(data))
        g = torch.Generator().manual_seed(run.step)  # reproducible per eval step
        image = len(algo.sample_shape) > 1
        nets = list(algo.modules().values())
        modes = [m.training for m in nets]
        for m in nets:
            m.eval()
        total, info = 0.0, {}
        for start in range(0, n, self.bs):
            x = torch.stack([data[i]["x"] for i in range(start, min(n, start + self.bs))]).double()
            if image:  # uniform dequantisation of the 8-bit values
                x = (torch.round((x + 1) * 127.5) + torch.rand(x.shape, generator=g, dtype=x.dtype)) / 128 - 1
            nats, info = algo.nll((x / algo.scale).float().to(run.device), g=g, **self.options)
            total += float(nats.double().sum())
        for m, mode in zip(nets, modes):
            m.train(mode)
        d = math.prod(algo.sample_shape)
        shift = d * math.log(128.0 if image else 1.0) + d * math.log(algo.scale)  # to pixel / data units
        bpd = (total / n + shift) / (d * math.log(2))
        self.protocol = {"implementation": "ganlab.metrics.nll", **info, "samples": n,
                         "split": f"{run.cfg.data.name}/{split}", "units": (
                             "bits/dim of 8-bit pixel values in [0, 256), uniformly dequantised" if image
                             else "bits/dim of the 2D points in data units (continuous, no dequantisation)")}
        return {"val/nll_bpd": bpd}
