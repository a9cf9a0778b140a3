"""Evaluators: what a run measures every `trainer.eval_every` steps. Each is called with the
Run and returns namespaced `val/...` metrics; its `protocol` is recorded in summary.json."""

from __future__ import annotations

import torch
from torch import nn

from ganlab import signals
from ganlab.errors import ConfigError
from ganlab.metrics.context import EvalContext


class ModeCoverage:
    """2D mixtures (ring8, grid25): modes captured, high-quality fraction, reverse KL
    (VEEGAN / PacGAN protocol: 2500 samples, high quality within 3 std of the nearest mode)."""

    def __init__(self, *, n_samples: int = 2500, hq_sigmas: float = 3.0):
        self.n, self.hq_sigmas = n_samples, hq_sigmas
        self.protocol = {"implementation": "ganlab.metrics.modes (PacGAN/VEEGAN protocol)",
                         "samples": n_samples, "hq_threshold_std": hq_sigmas,
                         "mode_captured": ">= 1 high-quality sample nearest to it"}

    @torch.no_grad()
    def __call__(self, run: EvalContext) -> dict[str, float]:
        from ganlab.metrics.modes import mode_metrics
        data = run.dataset("train")
        # a fresh but reproducible draw per eval step
        pts = run.algorithm.generate(self.n, device=run.device, seed=run.step).float().cpu()
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
    def __call__(self, run: EvalContext) -> dict[str, float]:
        from ganlab.metrics import masks as mm
        data = run.dataset("test") or run.dataset("train")
        if "mask_A" not in data[0] and "attn" not in run.algorithm.translate(data[0]["A"][None].to(run.device), "AtoB"):
            return {}  # no attention mask and no true mask (CycleGAN on folders): nothing to measure
        n = min(self.n, len(data))
        outs, attns, ins, true = [], [], [], []
        for start in range(0, n, self.bs):
            items = [data[i] for i in range(start, min(n, start + self.bs))]
            a = torch.stack([it["A"] for it in items]).to(run.device)
            res = run.algorithm.translate(a, "AtoB")
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


def config_digest(node) -> str:
    """8 hex digits naming a dataset's config (its target, seed, size, root...)."""
    import hashlib
    import json

    from omegaconf import OmegaConf
    text = json.dumps(OmegaConf.to_container(node, resolve=True) if node is not None else None, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


class FIDKIDEvaluator:
    """FID and KID (metrics.fid.FIDKID) and precision, recall, density, coverage (metrics.prdc,
    k = `prdc_k`) of generated (or translated) images on the features of `feature`, against a
    reference split whose statistics are cached per (data, split, extractor, resize, size, count).
    Metric names carry the extractor unless it is Inception (val/fid vs val/fid_random_conv: the
    random CNN is for comparisons within ganlab only). `reference: test` scores against held-out
    images, so a G that copies a small training set is not rewarded. Translation: G_AB(test A)
    against test B."""

    def __init__(self, *, feature: nn.Module,
                 n_samples: int = 5000,             # generated images (and reference images, at most)
                 kid_subset_size: int = 1000, kid_subsets: int = 100,
                 cache_dir: str = "data/cache",     # reference statistics land here
                 batch_size: int = 100,
                 prdc_k: int = 5,                   # k-NN balls of precision/recall/density/coverage; 0 = off
                 resize: str = "legacy",            # legacy | clean (clean-fid's protocol): metrics.fid.RESIZES
                 reference: str = "train",          # train | test: the real images generated ones are scored against
                 fid_name: str = "fid"):            # fid | fd: the Fréchet distance's name (val/fd_digits on a domain classifier)
        if not isinstance(feature, nn.Module):  # e.g. the old `feature: random_conv`
            raise ConfigError(f"feature={feature!r}: must be an extractor node, e.g. "
                              f"{{_target_: ganlab.metrics.features.RandomConvFeatures}}")
        self.feature, self.feature_name = feature, getattr(feature, "extractor_name", type(feature).__name__)
        self.n, self.bs, self.cache_dir = n_samples, batch_size, cache_dir
        self.kid_subset_size, self.kid_subsets = kid_subset_size, kid_subsets
        self.suffix = "" if self.feature_name == "inception" else f"_{self.feature_name}"
        if fid_name not in ("fid", "fd"):
            raise ConfigError(f"fid_name={fid_name!r}: choose fid or fd")
        self.fid_name = fid_name
        from ganlab.metrics.fid import RESIZES
        if resize not in RESIZES:
            raise ConfigError(f"resize={resize!r}: choose {' or '.join(RESIZES)}")
        if prdc_k < 0:
            raise ConfigError(f"prdc_k={prdc_k}: must be >= 0 (0 = no precision/recall)")
        if reference not in ("train", "test"):
            raise ConfigError(f"reference={reference!r}: choose train or test (data.test_dataset)")
        self.prdc_k, self.resize, self.reference = prdc_k, resize, reference
        self.protocol: dict = {}
        self._metric = None

    def _build(self, device):
        from ganlab.metrics.fid import FIDKID
        return FIDKID(feature=self.feature, kid_subsets=self.kid_subsets, kid_subset_size=self.kid_subset_size,
                      resize=self.resize).to(device)

    def _reference(self, run: EvalContext, metric, split: str, key: str, dataset) -> None:
        from pathlib import Path

        from ganlab.metrics.fid import load_reference, save_reference
        n = min(self.n, len(dataset))
        size = run.cfg.data.get("image_size")
        resize = "" if self.resize == "legacy" else f"_{self.resize}"  # legacy keeps the older file names
        node = run.cfg.data.get("dataset" if split == "train" else "test_dataset")
        tag = getattr(self.feature, "cache_tag", "")  # a trained extractor's weights (data/digits_classifier.py)
        tag = f"_{tag}" if tag else ""
        path = (Path(self.cache_dir) / f"fidref_{run.cfg.data.name}_{split}_{key}_{self.feature_name}{tag}{resize}_{size}px_"
                f"{n}_{config_digest(node)}.pt")  # the digest: another seed or subset never reads these statistics
        if path.is_file():
            state, _ = load_reference(path)
            metric.load_real_state(state)
            return
        for start in range(0, n, self.bs):
            signals.check()  # a stop request abandons the evaluation (Run.evaluate)
            imgs = torch.stack([dataset[i][key] for i in range(start, min(n, start + self.bs))])
            metric.update_real(imgs.to(run.device))
        save_reference(path, metric.real_state(), {"data": run.cfg.data.name, "split": split, "key": key, "n": n})

    @torch.no_grad()
    def __call__(self, run: EvalContext) -> dict[str, float]:
        if not hasattr(run.algorithm, "generate") and not hasattr(run.algorithm, "translate"):
            self.protocol = {"note": "this algorithm draws no images (model=sdpc: a sparse coder): nothing scored"}
            return {}
        first = self._metric is None
        if first:
            self._metric = self._build(run.device)
        metric = self._metric
        metric.reset()  # drops the fake features only: the reference stays
        algo = run.algorithm
        if hasattr(algo, "generate"):  # noise -> image: generated vs the training images
            split, key, data = self.reference, "x", run.dataset(self.reference)
            if data is None:
                raise ConfigError("reference=test needs held-out images and data.test_dataset is null: set "
                                  "data.test_dataset or reference=train")
            if first:
                self._reference(run, metric, split, key, data)
            for start in range(0, self.n, self.bs):
                signals.check()
                b = min(self.bs, self.n - start)
                metric.update_fake(algo.generate(b, device=run.device, seed=10_000 * run.step + start).float())
            n_fake = self.n
        else:  # translation: translated test A vs the test B images
            test = run.dataset("test")
            split, key, data = ("test", "B", test) if test is not None else ("train", "B", run.dataset("train"))
            if first:
                self._reference(run, metric, split, key, data)
            n_fake = min(self.n, len(data))
            for start in range(0, n_fake, self.bs):
                signals.check()
                a = torch.stack([data[i]["A"] for i in range(start, min(n_fake, start + self.bs))])
                metric.update_fake(algo.translate(a.to(run.device), "AtoB")["out"].float())
        res = metric.compute()
        self.protocol = metric.protocol(reference_split=f"{run.cfg.data.name}/{split}/{key}",
                                        image_size=run.cfg.data.get("image_size"))
        self.protocol["n_fake"] = n_fake
        self.protocol["fake"] = (f"generated, {n_fake} samples" if hasattr(algo, "generate") else
                                 f"G_AB({run.cfg.data.name}/{split}/A), first {n_fake}: translated test A vs test B")
        if not hasattr(algo, "generate"):
            self.protocol["direction"] = "AtoB"
        if getattr(self.feature, "info", None):  # a trained extractor's held-out accuracy, recipe, cache file
            self.protocol["feature_info"] = self.feature.info
        out = {f"val/{self.fid_name}{self.suffix}": res["fid"], f"val/kid{self.suffix}": res["kid"]}
        if self.prdc_k:
            from ganlab.metrics.prdc import prdc
            real, fake = metric.feature_sets()
            out |= {f"val/{k}{self.suffix}": v for k, v in prdc(real, fake, k=self.prdc_k).items()}
            self.protocol["prdc"] = {"implementation": "ganlab.metrics.prdc: torch-fidelity's precision/recall, "
                                     "density/coverage (Naeem et al. 2020)", "k": self.prdc_k,
                                     "n_real": int(real.shape[0]), "n_fake": int(fake.shape[0])}
        return out
