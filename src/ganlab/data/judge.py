"""What ganlab's judges share (data/digits_classifier.py, data/shapes_classifier.py): a network
trained by ganlab at its first use and cached under `cache_dir`, keyed by a hash of its recipe
(everything that makes the weights), so that no metric needs downloaded weights."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import torch
from torch import Tensor, nn

from ganlab.files import atomic_write_bytes

_LOADED: dict[str, tuple[dict, dict]] = {}  # digest -> (state, info): one training per process


class CachedJudge(nn.Module):
    """`net` with the weights its `recipe` makes: loaded from `cache_dir/<prefix>_<digest>.pt`, or
    trained by `train_weights(recipe)` and written there, at the first `ready()`. A fixed judge:
    never in training mode, no grads; `.to(device)` moves it, before or after `ready()`."""

    def __init__(self, *, prefix: str, recipe: dict, net: nn.Module, cache_dir: str):
        super().__init__()
        self.recipe = recipe
        self.digest = hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
        self.path = Path(cache_dir) / f"{prefix}_{self.digest}.pt"
        self.net = net
        self.net.requires_grad_(False)
        self.info: dict = {}
        self._ready = False

    def train_weights(self, recipe: dict) -> tuple[dict, dict]:
        """(state_dict, info) of a network trained by `recipe`."""
        raise NotImplementedError

    def ready(self) -> Self:
        """Load the cached weights, or train and cache them (at the first use, not at build)."""
        if not self._ready:
            state, self.info = load_or_train(self.recipe, self.digest, self.path, self.train_weights)
            self.net.load_state_dict(state)
            self.net.eval()
            self._ready = True
        return self

    def train(self, mode: bool = True) -> Self:
        return super().train(False)  # a fixed judge: never in training mode


def load_or_train(recipe: dict, digest: str, path: Path, train) -> tuple[dict, dict]:
    """(state_dict, info) from memory, from `path`, or trained now by `train(recipe)` and written to
    `path`. The judges' digests differ, so they share the memory cache."""
    if digest in _LOADED:
        return _LOADED[digest]
    if path.is_file():
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)  # no code runs on load
            _LOADED[digest] = blob["state"], {**blob["info"], "cache": str(path), "loaded": True}
            return _LOADED[digest]
        except (OSError, RuntimeError, KeyError, TypeError, EOFError, pickle.UnpicklingError):
            pass  # unreadable: train again and replace it (the same weights, deterministically)
    state, info = train(recipe)
    buf = io.BytesIO()
    torch.save({"state": state, "info": info}, buf)
    atomic_write_bytes(path, buf.getvalue())
    _LOADED[digest] = state, {**info, "cache": str(path), "loaded": False}
    return _LOADED[digest]


@contextmanager
def reproducible():
    """One thread (the same sums in the same order on any machine: the same weights), the run's RNG
    untouched, grads on even when called from an evaluation (no_grad)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]), torch.enable_grad():
            yield
    finally:
        torch.set_num_threads(threads)


def fit(make_net, x: Tensor, y: Tensor, recipe: dict) -> nn.Module:
    """make_net() trained on (x, y) by cross-entropy, Adam with a one-cycle lr (recipe: seed, lr,
    epochs, batch_size), in eval mode; inside `reproducible()`."""
    torch.manual_seed(recipe["seed"])
    net = make_net()
    order = torch.Generator().manual_seed(recipe["seed"])
    opt = torch.optim.Adam(net.parameters(), lr=recipe["lr"])
    steps = recipe["epochs"] * -(-len(y) // recipe["batch_size"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe["lr"], total_steps=steps)
    for _ in range(recipe["epochs"]):
        for idx in torch.randperm(len(y), generator=order).split(recipe["batch_size"]):
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return net.eval()
