"""Everything a run is made of, built from the composed config with Hydra `instantiate`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from ganlab.data.loader import Batches
from ganlab.errors import ConfigError, DataError, GanlabError
from ganlab.training.schedules import lr_lambda


@dataclass
class Parts:
    step_obj: object
    batches: Batches
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]
    total_steps: int
    evaluators: dict


def build_dataset(cfg: DictConfig, split: str = "train"):
    node = cfg.data.dataset if split == "train" else cfg.data.get("test_dataset")
    if node is None:
        return None
    if cfg.data.get("cache", "none") == "h5" and split == "train":
        from ganlab.data.h5cache import H5Dataset
        from ganlab.data_commands import cache_path
        path = cache_path(cfg)
        if not path.is_file():
            raise DataError(f"data.cache=h5 but {path} does not exist: run `ganlab data prepare data={cfg.data.name}` first")
        # the cache holds clean images: augmentation (if the dataset asks for it) runs on top
        transform = None
        if cfg.data.dataset.get("augment"):
            from ganlab.data.transforms import augment_tensor_pipeline
            transform = augment_tensor_pipeline(image_size=cfg.data.image_size,
                                                load_size=cfg.data.dataset.get("load_size", 1.12))
        return H5Dataset(path=path, transform=transform)
    return build_node(node, "data.dataset" if split == "train" else "data.test_dataset")


def build_step(cfg: DictConfig):
    nets = {name: build_node(node, f"model.networks.{name}") for name, node in cfg.model.networks.items()}
    tricks = [build_node(t, f"tricks.{k}") for k, t in (cfg.get("tricks") or {}).items() if t is not None]
    return build_node(cfg.model.step, "model.step", **nets, loss=build_node(cfg.loss.adversarial, "loss.adversarial"),
                      d_tricks=tricks)


def build_node(node, key: str, **kwargs):
    """`instantiate`, with bad config reported as a ConfigError naming the config key: a
    constructor's own check (a ganlab error), an unknown or missing argument, an unknown target.
    Anything else is a bug and keeps its traceback."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as e:
        cause = e.__cause__
        while cause is not None and not isinstance(cause, GanlabError) and cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, GanlabError):
            raise type(cause)(f"{key}: {cause}") from e
        text = str(e)
        if isinstance(cause, TypeError) and ("unexpected keyword" in str(cause) or "required" in str(cause)):
            raise ConfigError(f"{key}: {cause}") from e
        if "Error locating target" in text or "not callable" in text:
            raise ConfigError(f"{key}._target_: {text.splitlines()[0].strip()}") from e
        raise


def total_steps(cfg: DictConfig, steps_per_epoch: int) -> int:
    by_steps = cfg.trainer.max_steps or 0
    by_epochs = (cfg.trainer.max_epochs or 0) * steps_per_epoch
    candidates = [s for s in (by_steps, by_epochs) if s > 0]
    if not candidates:
        raise ConfigError("set trainer.max_steps or trainer.max_epochs to a positive number")
    return min(candidates)


def build(cfg: DictConfig, device: torch.device) -> Parts:
    dataset = build_dataset(cfg)
    batches = Batches(dataset, batch_size=cfg.data.batch_size, seed=cfg.seed,
                      num_workers=cfg.data.get("num_workers", 0),
                      pin_memory=device.type == "cuda" and cfg.data.get("pin_memory", True),
                      in_memory=cfg.data.get("in_memory", False))
    step_obj = build_step(cfg)
    for m in step_obj.modules().values():
        m.to(device)
        if cfg.trainer.get("channels_last") and device.type == "cuda":
            m.to(memory_format=torch.channels_last)
    n = total_steps(cfg, batches.steps_per_epoch)
    sched = cfg.schedule
    optimizers, schedulers = {}, {}
    for phase in ("D", "G"):
        params = [p for m in step_obj.phase_modules(phase) for p in m.parameters()]
        optimizers[phase] = build_node(sched.optimizer[phase], f"schedule.optimizer.{phase}")(params)
        # the G phase runs every n_critic steps: its schedule is indexed by G updates
        phase_total = n if phase == "D" else max(1, n // sched.n_critic)
        schedulers[phase] = torch.optim.lr_scheduler.LambdaLR(
            optimizers[phase], lr_lambda(sched.lr_policy, total_steps=phase_total,
                                         decay_start=sched.decay_start))
    nodes = {**(cfg.data.get("evaluators") or {}), **(cfg.get("metrics") or {})}
    evaluators = {name: build_node(node, f"evaluators.{name}") for name, node in nodes.items() if node is not None}
    return Parts(step_obj, batches, optimizers, schedulers, n, evaluators)
