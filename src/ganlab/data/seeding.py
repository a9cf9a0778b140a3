"""Per-sample randomness for embedded datasets: every sample is a pure function of (seed, index),
drawn from a private generator, so global RNG state (and the loader's per-sample seeding of
augmentation) never affects what the data is."""

from __future__ import annotations

import numpy as np
import torch

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def mix_seed(*parts: int) -> int:
    """A stable 63-bit seed from integers; hash() of tuples is salted per process, this is not."""
    h = 0x243F6A8885A308D3
    for p in parts:
        h = _splitmix64(h ^ (int(p) & _MASK64))
    return h & 0x7FFFFFFFFFFFFFFF


def sample_generator(seed: int, index: int, stream: int = 0) -> torch.Generator:
    """A private torch RNG for sample `index` of stream `stream` (e.g. domain, split)."""
    return torch.Generator().manual_seed(mix_seed(seed, stream, index))


def hash_uniforms(seed: int, index: np.ndarray, n: int, stream: int = 0) -> np.ndarray:
    """(len(index), n) uniforms in [0, 1) from a counter-based hash of (seed, stream, index, j).

    Vectorised over indices, so a whole dataset is generated at once, and sample i does not
    depend on the dataset size (a 1k and a 100k set share their first 1k samples)."""
    key = np.uint64(mix_seed(seed, stream))
    ctr = np.asarray(index, dtype=np.uint64).reshape(-1, 1) * np.uint64(n) + np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic is meant to wrap
        z = (ctr ^ key) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
