"""Resumable, seeded batches.

The data position is (epoch, batch index in epoch). Epoch e visits a permutation drawn from
(seed, e) alone, and each sample's random augmentation is seeded from (seed, epoch, index), so a
run resumed mid-epoch sees exactly the batches, and the augmentations, it would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset

from ganlab.data.seeding import mix_seed
from ganlab.errors import ConfigError

# Stream tags keep the loader's seeds apart from each other and from the datasets' private
# generators, sample_generator(seed, index, stream) = mix_seed(seed, stream, index) (dataset seeds
# and cfg.seed both default to 0, so an untagged (seed, epoch, i) would repeat those seeds).
_AUGMENT, _ORDER = 0xA06, 0xDA7A


class SeededSamples(Dataset):
    """Wraps a dataset so index (epoch, i) returns sample i with augmentation seeded by (seed, epoch, i)."""

    def __init__(self, dataset: Dataset, *, seed: int):
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        epoch, i = key
        with torch.random.fork_rng(devices=[]):
            # the CPU generator alone (what transforms draw from): torch.manual_seed would also queue a
            # GPU seeding per sample (slow: docs/BENCHMARKS.md) and reseed the GPU's RNG (training noise) from the data
            torch.random.default_generator.manual_seed(mix_seed(self.seed, epoch, i, _AUGMENT))
            return self.dataset[i]


class InMemory:
    """A whole deterministic dataset materialised as stacked tensors; batches are slices."""

    def __init__(self, dataset: Dataset):
        if hasattr(dataset, "as_tensors"):  # datasets that are tensors already skip the per-sample loop
            self.tensors = dataset.as_tensors()
            return
        samples = [dataset[i] for i in range(len(dataset))]
        self.tensors = {k: torch.stack([s[k] for s in samples]) for k in samples[0]}

    def __len__(self) -> int:
        return next(iter(self.tensors.values())).shape[0]

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v[idx] for k, v in self.tensors.items()}


@dataclass
class Position:
    epoch: int = 0
    batch: int = 0  # batches of `epoch` already consumed


class _Plan:
    """The batch sampler of the one DataLoader: this epoch's remaining batches of (epoch, index)."""

    def __init__(self):
        self.batches: list[list[tuple[int, int]]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class Batches:
    """Epoch-seeded batches from a position; `steps_per_epoch` full batches (last partial dropped).
    Over several processes, `batch_size` is the global batch and rank r reads its r-th slice of
    each one: the order, the position and the augmentations do not depend on the process count."""

    def __init__(self, dataset: Dataset, *, batch_size: int, seed: int, num_workers: int = 0,
                 pin_memory: bool = False, in_memory: bool | str = False, rank: int = 0, world_size: int = 1):
        if len(dataset) < batch_size:
            raise ConfigError(f"dataset has {len(dataset)} samples, fewer than data.batch_size={batch_size}")
        self.batch_size, self.seed = batch_size, seed
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.n = len(dataset)
        # data.in_memory: true stacks a deterministic dataset, batches are slices; "auto" is not true,
        # and image folders take the key themselves (decoded images kept, augmentation still per sample)
        stack = in_memory is True and not getattr(dataset, "keeps_own_memory", False)
        self.memory = InMemory(dataset) if stack else None
        self.samples = SeededSamples(dataset, seed=seed)
        self.steps_per_epoch = self.n // batch_size
        self.plan, self.loader = _Plan(), None
        share = batch_size // world_size
        self.shard = slice(rank * share, (rank + 1) * share)

    def order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(mix_seed(self.seed, epoch, _ORDER))
        return torch.randperm(self.n, generator=g)[: self.steps_per_epoch * self.batch_size]

    def epoch(self, pos: Position) -> Iterator[dict[str, torch.Tensor]]:
        """The remaining batches of `pos.epoch`, from `pos.batch` on."""
        chunks = self.order(pos.epoch).view(self.steps_per_epoch, self.batch_size)[pos.batch:, self.shard]
        if self.memory is not None:
            for idx in chunks:
                yield self.memory.batch(idx)
            return
        self.plan.batches = [[(pos.epoch, int(i)) for i in idx] for idx in chunks]
        if self.loader is None:
            # workers outlive the epoch (persistent: no start-up per epoch), reading the plan the
            # main process sets; a private generator: starting an epoch never draws from the global
            # RNG (it would shift the noise of every later step when a resumed run restarts mid-epoch)
            self.loader = DataLoader(self.samples, batch_sampler=self.plan, num_workers=self.num_workers,
                                     pin_memory=self.pin_memory, persistent_workers=self.num_workers > 0,
                                     generator=torch.Generator().manual_seed(self.seed))
        yield from self.loader
