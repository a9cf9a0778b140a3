"""metrics=masks (TranslationMetrics): what it measures with and without attention and true masks."""

import torch

from ganlab.metrics.evaluators import TranslationMetrics


class Algorithm:
    def __init__(self, attention: bool):
        self.attention, self.images = attention, 0

    def translate(self, a, direction):
        self.images += len(a)
        out = {"out": a.flip(-1)}
        if self.attention:
            out["attn"] = (a[:, :1] > 0).float()
        return out


class Context:
    def __init__(self, algorithm, masks: bool):
        g = torch.Generator().manual_seed(0)
        self.items = [{"A": torch.rand(3, 8, 8, generator=g) * 2 - 1} for _ in range(10)]
        if masks:
            for it in self.items:
                it["mask_A"] = (it["A"][:1] > 0).float()
        self.algorithm, self.device, self.events = algorithm, torch.device("cpu"), []

    def dataset(self, split):
        return self.items if split == "train" else None

    def event(self, kind, message):
        self.events.append(kind)


def test_without_attention_or_true_masks_it_translates_one_image_and_reports_nothing():
    algo = Algorithm(attention=False)
    assert TranslationMetrics(n_images=8, batch_size=4)(Context(algo, masks=False)) == {}
    assert algo.images == 1


def test_with_attention_it_reports_the_mask_and_with_true_masks_the_scores_against_them():
    algo = Algorithm(attention=True)
    m = TranslationMetrics(n_images=8, batch_size=4)(Context(algo, masks=False))
    assert "val/mask_coverage" in m and "val/mask_iou" not in m
    m = TranslationMetrics(n_images=8, batch_size=4)(Context(Algorithm(attention=True), masks=True))
    assert m["val/mask_iou"] == 1.0 and "val/bg_l1" in m and "val/success" in m
    m = TranslationMetrics(n_images=8, batch_size=4)(Context(Algorithm(attention=False), masks=True))
    assert "val/bg_l1" in m and "val/mask_iou" not in m
