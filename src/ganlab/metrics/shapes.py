"""Are the shapes drawn? Generated `shapes` images judged by ganlab's shapes classifier
(data/shapes_classifier.py, reached through the config): `val/shapes_recognised` is the fraction
of samples whose top class is one of the data's 12 (shape x colour) with probability >=
`threshold`, not NOT_A_SHAPE (blurred, halfway-between or two-colour shapes, two objects);
`val/shape_classes` how many of the 12 classes hold >= `min_share` of their fair share (n / 12)
of recognised samples. The FID proxy and precision cannot tell blobs from outlines; this can."""

from __future__ import annotations

import torch
from torch import nn

from ganlab import signals
from ganlab.metrics.context import EvalContext
from ganlab.metrics.errors import MetricsError


class ShapesRecognised:
    """`val/shapes_recognised` and `val/shape_classes` of `n_samples` generated images, per eval step."""

    def __init__(self, *, classifier: nn.Module, n_samples: int = 1000, batch_size: int = 500,
                 threshold: float = 0.9, min_share: float = 0.1):
        if not hasattr(classifier, "probs"):
            raise MetricsError(f"classifier={type(classifier).__name__}: needs a probs(images) method "
                               f"(ganlab.data.shapes_classifier.ShapesClassifier)")
        self.classifier, self.n, self.bs = classifier, n_samples, batch_size
        self.threshold, self.min_share = threshold, min_share
        self.protocol: dict = {}

    @torch.no_grad()
    def scores(self, images_batches, device) -> dict[str, float]:
        """The two metrics of an iterable of image batches in [-1, 1]."""
        clf = self.classifier.to(device).ready()
        hits = torch.zeros(clf.NOT_A_SHAPE, dtype=torch.long)
        n = 0
        for imgs in images_batches:
            signals.check()  # a stop request abandons the evaluation (Run.evaluate)
            k = clf.recognised(clf.probs(imgs.to(device)), self.threshold).cpu()
            hits += torch.bincount(k[k >= 0], minlength=clf.NOT_A_SHAPE)
            n += len(k)
        fair = n / clf.NOT_A_SHAPE
        return {"val/shapes_recognised": float(hits.sum()) / max(n, 1),
                "val/shape_classes": float((hits >= max(1, self.min_share * fair)).sum())}

    @torch.no_grad()
    def __call__(self, run: EvalContext) -> dict[str, float]:
        algo = run.algorithm
        batches = (algo.generate(min(self.bs, self.n - s), device=run.device, seed=100_000 * run.step + s).float()
                   for s in range(0, self.n, self.bs))  # a fresh but reproducible draw per eval step
        out = self.scores(batches, run.device)
        self.protocol = {"implementation": "ganlab.metrics.shapes", "samples": self.n,
                         "recognised": f"top class one of the 12 shapes x colours with probability >= {self.threshold}",
                         "class_hit": f">= {self.min_share} x n/12 recognised samples",
                         "classifier": dict(self.classifier.info)}
        return out
