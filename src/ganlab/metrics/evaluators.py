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


class TranslationMetrics:
    """Unpaired translation A->B on the first `n_images` of the test split (train split if the
    data has none): attention-mask diagnostics (coverage, saturation; an event when the mask
    collapses to all-0 or all-1) and, when the data carries true masks (toyzebra), mask IoU,
    background L1, stripedness and success rate against them."""

    def __init__(self, *, n_images: int = 128, batch_size: int = 32):
        self.n, self.bs = n_images, batch_size
        self.protocol = {"implementation": "ganlab.metrics.masks", "images": n_images, "direction": "AtoB",
                         "split": "test (train if none)", "iou_threshold": 0.5,
                         "bg_l1": "mean |out - in| outside the true mask, images in [0, 1]"}

    @torch.no_grad()
    def __call__(self, run) -> dict[str, float]:
        from ganlab.metrics import masks as mm
        from ganlab.training.build import build_dataset
        if not hasattr(self, "_data"):
            self._data = build_dataset(run.cfg, "test") or run.batches.samples.dataset
        n = min(self.n, len(self._data))
        outs, attns, ins, true = [], [], [], []
        for start in range(0, n, self.bs):
            items = [self._data[i] for i in range(start, min(n, start + self.bs))]
            a = torch.stack([it["A"] for it in items]).to(run.device)
            res = run.step_obj.translate(a, "AtoB")
            outs.append(res["out"].float().cpu())
            ins.append(a.cpu())
            if "attn" in res:
                attns.append(res["attn"].float().cpu())
            if "mask_A" in items[0]:
                true.append(torch.stack([it["mask_A"] for it in items]))
        out, inp = torch.cat(outs), torch.cat(ins)
        metrics: dict[str, float] = {}
        if attns:
            attn = torch.cat(attns)
            stats = mm.mask_stats(attn)
            metrics |= {f"val/mask_{k}": float(v) for k, v in stats.items()}
            collapsed = mm.mask_collapsed(stats)
            if collapsed:
                run.event("mask_collapse", f"attention mask collapsed to {collapsed} "
                          f"(coverage {float(stats['coverage']):.3f})")
        if true:
            mask = torch.cat(true)
            metrics["val/bg_l1"] = float(mm.background_l1(out, inp, mask))
            metrics["val/stripe"] = float(mm.stripedness(out, mask))
            if attns:
                metrics["val/mask_iou"] = float(mm.mask_iou(attn, mask))
                metrics["val/success"] = float(mm.translation_success(attn, out, inp, mask))
        return metrics
