"""A sparse coder's held-out quality (model=sdpc, and a GAN whose D has an SDPC front end,
experiment=sdpc_gan_d): the coder's own `code_stats(x)` per image — reconstruction error in pixels
of layer 1's code (`val/sdpc_recon_mse`) and of the top code through the whole generative path
(`val/sdpc_recon_mse_top`), each layer's fraction of non-zero code units (`val/sdpc_sparsity_l<i>`)
— averaged over images the dictionaries never trained on: the test split, or, for generated data
without one (shapes), the same generator with another seed. Data with neither (a folder without
data.test_dataset) is scored on its training images, and the protocol says so. The coder is the
algorithm, else the first of its networks with `code_stats`; without one nothing is recorded."""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ganlab.errors import ConfigError
from ganlab.metrics.context import EvalContext


class SparseCodingEvaluator:
    def __init__(self, *, n_samples: int = 256, batch_size: int = 64,
                 heldout_seed: int | None = None):  # data without a test split: data.dataset with this
                                                    # seed (null: its seed + 1)
        for key, value in {"n_samples": n_samples, "batch_size": batch_size}.items():
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key}={value!r}: must be an integer >= 1")
        if heldout_seed is not None and not isinstance(heldout_seed, int):
            raise ConfigError(f"heldout_seed={heldout_seed!r}: an integer, or null (data.dataset.seed + 1)")
        self.n, self.bs, self.heldout_seed = n_samples, batch_size, heldout_seed
        self.protocol: dict = {}
        self._heldout = None

    def heldout(self, run: EvalContext) -> tuple[object, str, bool]:
        """(the images to score, where they come from, whether the dictionaries never saw them)."""
        if self._heldout is None:
            self._heldout = self._choose(run)
        return self._heldout

    def _choose(self, run: EvalContext) -> tuple[object, str, bool]:
        name = run.cfg.data.name
        test = run.dataset("test")
        if test is not None:
            return test, f"{name}/test (data.test_dataset), held out", True
        node = run.cfg.data.dataset
        if "seed" in node:  # a generator: other images from another seed
            seed = int(node.seed) + 1 if self.heldout_seed is None else self.heldout_seed
            if seed == node.seed:
                raise ConfigError(f"heldout_seed={seed} is data.dataset.seed: held-out images need another seed")
            spec = OmegaConf.to_container(node, resolve=True)
            spec["seed"] = seed
            if "size" in spec:  # only the images scored
                spec["size"] = min(int(spec["size"]), self.n)
            target = spec["_target_"].rpartition(".")[2]
            return instantiate(spec), (f"{name}/held-out: {target}(seed={seed}), the training data's generator with "
                                          f"another seed (the data has no test split)"), True
        return (run.dataset("train"), f"{name}/train: NOT held out (the data has no test split and no seed: "
                                      f"set data.test_dataset)", False)

    @torch.no_grad()
    def __call__(self, run: EvalContext) -> dict[str, float]:
        algo = run.algorithm
        coder = algo if hasattr(algo, "code_stats") else next(
            (net for net in algo.modules().values() if hasattr(net, "code_stats")), None)
        if coder is None:
            self.protocol = {"implementation": "ganlab.metrics.sparse_coding", "note": "this algorithm has no codes"}
            return {}
        data, split, heldout = self.heldout(run)
        n = min(self.n, len(data))
        sums: dict[str, float] = {}
        for start in range(0, n, self.bs):
            x = torch.stack([data[i]["x"] for i in range(start, min(n, start + self.bs))]).to(run.device)
            for k, v in coder.code_stats(x).items():
                sums[k] = sums.get(k, 0.0) + float(v.double().sum())
        self.protocol = {"implementation": "ganlab.metrics.sparse_coding", "samples": n, "split": split,
                         "heldout": heldout,
                         "units": "MSE of centred images in [-1, 1]; sparsity = fraction of non-zero code units"}
        return {k: v / n for k, v in sums.items()}
