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
    algorithm: object
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
        from ganlab.data.h5cache import H5Dataset, cache_path
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


def build_algorithm(cfg: DictConfig):
    """The algorithm with its networks (model.networks, passed by name); everything else it takes
    (loss, tricks, weights) is in its own node, model.algorithm."""
    nets = {name: build_node(node, f"model.networks.{name}") for name, node in cfg.model.networks.items()}
    return build_node(cfg.model.algorithm, "model.algorithm", **nets)


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


def build_optimizers(cfg: DictConfig, phases: list, total: int) -> tuple[dict, dict]:
    """One optimizer per name the phases use (schedule.optimizer.<name>), over the parameters of
    the networks those phases train; its lr schedule is indexed by the steps it runs on."""
    optimizers, schedulers = {}, {}
    for name in dict.fromkeys(p.optimizer_name for p in phases):
        mine = [p for p in phases if p.optimizer_name == name]
        params = list({id(q): q for p in mine for m in p.modules for q in m.parameters()}.values())
        node = cfg.schedule.optimizer.get(name)
        if node is None:
            raise ConfigError(f"schedule.optimizer.{name}: phase {mine[0].name} needs this optimizer; add it to the "
                              f"schedule config")
        optimizers[name] = build_node(node, f"schedule.optimizer.{name}")(params)
        runs = max(1, total // min(p.every for p in mine))
        schedulers[name] = torch.optim.lr_scheduler.LambdaLR(
            optimizers[name], lr_lambda(cfg.schedule.lr_policy, total_steps=runs, decay_start=cfg.schedule.decay_start))
    return optimizers, schedulers


def prepare_networks(cfg: DictConfig, algorithm, device: torch.device, ranks) -> None:
    """SyncBatchNorm over processes, then torch.compile of the trained networks' forward passes
    (in place: their state_dict keys stay clean, so compiled and eager runs share checkpoints)."""
    trained = {name: m for name, m in algorithm.modules().items() if name in cfg.model.networks}
    if cfg.trainer.get("sync_batchnorm") and ranks is not None and ranks.active:
        if device.type != "cuda":
            raise ConfigError("trainer.sync_batchnorm=true needs CUDA (PyTorch's SyncBatchNorm is GPU-only); "
                              "set it false on CPU")
        for m in trained.values():
            torch.nn.SyncBatchNorm.convert_sync_batchnorm(m)  # replaces the BatchNorm children in place
    if cfg.trainer.get("compile"):
        for m in trained.values():
            m.compile(backend=cfg.trainer.get("compile_backend", "inductor"), dynamic=False)


def build(cfg: DictConfig, device: torch.device, ranks=None) -> Parts:
    dataset = build_dataset(cfg)
    batches = Batches(dataset, batch_size=cfg.data.batch_size, seed=cfg.seed,
                      rank=ranks.rank if ranks else 0, world_size=ranks.world_size if ranks else 1,
                      num_workers=cfg.data.get("num_workers", 0),
                      pin_memory=device.type == "cuda" and cfg.data.get("pin_memory", True),
                      in_memory=cfg.data.get("in_memory", False))
    algorithm = build_algorithm(cfg)
    for m in algorithm.modules().values():
        m.to(device)
        if cfg.trainer.get("channels_last") and device.type == "cuda":
            m.to(memory_format=torch.channels_last)
    prepare_networks(cfg, algorithm, device, ranks)
    n = total_steps(cfg, batches.steps_per_epoch)
    optimizers, schedulers = build_optimizers(cfg, algorithm.phases(), n)
    nodes = {**(cfg.data.get("evaluators") or {}), **(cfg.get("metrics") or {})}
    evaluators = {name: build_node(node, f"evaluators.{name}") for name, node in nodes.items() if node is not None}
    return Parts(algorithm, batches, optimizers, schedulers, n, evaluators)
