"""Evaluators: what a run measures every `trainer.eval_every` steps. Each is called with the
Run and returns namespaced `val/...` metrics; its `protocol` is recorded in summary.json."""

from __future__ import annotations

import torch


class ModeCoverage:
    """2D mixtures (ring8, grid25): modes captured, high-quality fraction, reverse KL
    (VEEGAN / PacGAN protocol: 2500 samples, high quality within 3 std of the nearest mode)."""

    def __init__(self, *, n_samples: int = 2500, hq_sigmas: float = 3.0):
        self.n, self.hq_sigmas = n_samples, hq_sigmas
        self.protocol = {"implementation": "ganlab.metrics.modes (PacGAN/VEEGAN protocol)",
                         "samples": n_samples, "hq_threshold_std": hq_sigmas,
                         "mode_captured": ">= 1 high-quality sample nearest to it"}

    @torch.no_grad()
    def __call__(self, run) -> dict[str, float]:
        from ganlab.metrics.modes import mode_metrics
        data = run.batches.samples.dataset
        # a fresh but reproducible draw per eval step
        pts = run.step_obj.generate(self.n, device=run.device, seed=run.step).float().cpu()
        m = mode_metrics(pts, data.centers, data.std, hq_sigmas=self.hq_sigmas)
        return {"val/modes": float(m["modes"]), "val/hq": float(m["hq"]),
                "val/reverse_kl": float(m["reverse_kl"])}
