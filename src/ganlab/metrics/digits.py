"""Mode coverage of digit images, judged by a digits classifier (data/digits_classifier.py):
the StackedMNIST protocol (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018; R3GAN) on
scikit-learn's digits or on MNIST (the classifier's source, named in the protocol). Each channel
of a generated image is classified; the digits of the C channels make its mode (100*d1 + 10*d2
+ d3 of 1,000 for stacked digits, the digit of 10 for one channel). A mode is captured by >= 1 sample; reverse KL is KL(q || uniform) of the samples'
histogram over the 10^C modes (metrics/modes.histogram_metrics, as for the 2D mixtures)."""

from __future__ import annotations

import torch
from torch import nn

from ganlab import signals
from ganlab.metrics.context import EvalContext
from ganlab.metrics.errors import MetricsError
from ganlab.metrics.modes import histogram_metrics


def digit_modes(classifier: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """(B,) mode index of images (B, C, S, S) in [-1, 1]: the channels' digits read as a C-digit number."""
    digits = classifier.classify(images)  # (B, C)
    powers = 10 ** torch.arange(digits.shape[1] - 1, -1, -1, device=digits.device)
    return (digits * powers).sum(1)


class DigitModes:
    """`val/modes` (of 10^C) and `val/reverse_kl` of `n_samples` generated images, per eval step."""

    def __init__(self, *, classifier: nn.Module, n_samples: int = 26_000, batch_size: int = 500):
        if not hasattr(classifier, "classify"):
            raise MetricsError(f"classifier={type(classifier).__name__}: needs a classify(images) method "
                               f"(ganlab.data.digits_classifier.DigitsClassifier)")
        self.classifier, self.n, self.bs = classifier, n_samples, batch_size
        self.protocol: dict = {}

    @torch.no_grad()
    def counts(self, images_batches, device) -> torch.Tensor:
        """Histogram over the 10^C modes of an iterable of image batches."""
        clf = self.classifier.to(device).ready()
        k = 10 ** clf.channels
        counts = torch.zeros(k, dtype=torch.long)
        for imgs in images_batches:
            signals.check()  # a stop request abandons the evaluation (Run.evaluate)
            counts += torch.bincount(digit_modes(clf, imgs.to(device)).cpu(), minlength=k)
        return counts

    @torch.no_grad()
    def __call__(self, run: EvalContext) -> dict[str, float]:
        algo = run.algorithm
        if not hasattr(algo, "generate"):  # model=sdpc: a sparse coder draws no digits
            self.protocol = {"note": "this algorithm draws no images: nothing scored"}
            return {}
        batches = (algo.generate(min(self.bs, self.n - s), device=run.device, seed=100_000 * run.step + s).float()
                   for s in range(0, self.n, self.bs))  # a fresh but reproducible draw per eval step
        counts = self.counts(batches, run.device)
        m = histogram_metrics(counts)
        clf = self.classifier
        self.protocol = {"implementation": "ganlab.metrics.digits (StackedMNIST protocol of VEEGAN/PacGAN/R3GAN)",
                         "digits": clf.source.name,  # MNIST: StackedMNIST itself; else StackedDigits
                         "samples": self.n, "modes_total": len(counts),
                         "mode": "the digit of each channel, by ganlab's digits classifier",
                         "mode_captured": ">= 1 sample classified as it",
                         "reverse_kl": "KL(q || uniform) of the samples' mode histogram",
                         "classifier": dict(clf.info)}
        return {"val/modes": float(m["modes"]), "val/reverse_kl": float(m["reverse_kl"])}
