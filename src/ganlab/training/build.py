"""Everything a run is made of, built from the composed config with Hydra `instantiate`: data,
networks, algorithm, optimizers with their learning-rate policies, evaluators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganlab.data.loader import Batches
from ganlab.errors import ConfigError, GanlabError


@dataclass
class TrainingSetup:
    """What `build` makes from the config; a Run takes it over."""
    algorithm: object
    batches: Batches
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]
    total_steps: int
    evaluators: dict


def build_dataset(cfg: DictConfig, split: str = "train"):
    """The "train" split (data.dataset, or data.caches.<data.cache> unless data.cache is none) or
    the "test" one (data.test_dataset; None when the data has none)."""
    if split != "train":
        node = cfg.data.get("test_dataset")
        return None if node is None else build_node(node, "data.test_dataset")
    cache = cfg.data.get("cache", "none")
    if cache == "none":
        return build_node(cfg.data.dataset, "data.dataset")
    caches = cfg.data.get("caches") or {}
    if cache not in caches:
        raise ConfigError(f"data.cache={cache!r}: choose none or a key of data.caches ({', '.join(caches) or 'none set'})")
    return build_node(caches[cache], "data.cache")


def build_algorithm(cfg: DictConfig):
    """The algorithm with its networks (model.networks, passed by name); everything else it takes
    (loss, tricks, weights) is in its own node, model.algorithm."""
    nets = {name: build_node(node, f"model.networks.{name}") for name, node in cfg.model.networks.items()}
    return build_node(cfg.model.algorithm, "model.algorithm", **nets)


def build_node(node, key: str, **kwargs):
    """`instantiate`, with bad config reported as a ConfigError naming the config key: a
    constructor's own check (a ganlab error), an unknown or missing argument, an unknown target.
    Anything else is a bug and keeps its traceback."""
    if not isinstance(node, DictConfig | dict) or "_target_" not in node:  # e.g. an old string form
        raise ConfigError(f"{key}={node!r}: must be a config node with a _target_")
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
    policy = build_node(cfg.schedule.lr_policy, "schedule.lr_policy")
    for name in dict.fromkeys(p.optimizer_name for p in phases):
        mine = [p for p in phases if p.optimizer_name == name]
        params = list({id(q): q for p in mine for m in p.modules for q in m.parameters()}.values())
        node = cfg.schedule.optimizer.get(name)
        if node is None:
            raise ConfigError(f"schedule.optimizer.{name}: phase {mine[0].name} needs this optimizer; add it to the "
                              f"schedule config")
        optimizers[name] = build_node(node, f"schedule.optimizer.{name}")(params)
        runs = max(1, total // min(p.every for p in mine))
        schedulers[name] = torch.optim.lr_scheduler.LambdaLR(optimizers[name], policy.lr_lambda(runs))
    return optimizers, schedulers


# -- learning-rate policies (schedule.lr_policy, by `_target_`): `lr_lambda(total_steps)`, LambdaLR's
# multiplier per optimizer step, is a plain function on purpose: LambdaLR saves an object's attributes
# in its state_dict and would restore the old run length over a new trainer.max_steps on resume.


class ConstantLR:
    """1 throughout."""

    def lr_lambda(self, total_steps: int) -> Callable[[int], float]:
        return lambda step: 1.0


class LinearDecay:
    """1 until `decay_start` (a fraction of training, e.g. CycleGAN's 100 of 200 epochs = 0.5),
    then linearly to 0 at the last step."""

    def __init__(self, *, decay_start: float = 0.5):
        if isinstance(decay_start, bool) or not isinstance(decay_start, int | float) or not 0 <= decay_start <= 1:
            raise ConfigError(f"decay_start={decay_start!r}: must be a number in [0, 1]")
        self.decay_start = decay_start

    def lr_lambda(self, total_steps: int) -> Callable[[int], float]:
        start = int(self.decay_start * total_steps)
        span = max(1, total_steps - start)
        return lambda step: 1.0 if step < start else max(0.0, 1.0 - (step - start) / span)


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


def evaluator_nodes(cfg: DictConfig) -> dict[str, tuple[DictConfig, str]]:
    """The run's evaluators by name, as (config node, config key): data.evaluators, then the
    metrics group (metrics.<name> replaces data.evaluators.<name>; null drops it)."""
    nodes = {}
    for group in ("data.evaluators", "metrics"):
        nodes |= {name: (node, f"{group}.{name}") for name, node in (OmegaConf.select(cfg, group) or {}).items()}
    return {name: (node, key) for name, (node, key) in nodes.items() if node is not None}


def build_evaluators(cfg: DictConfig) -> dict:
    """The evaluators of evaluator_nodes, built; shared by training and `ganlab eval`."""
    nodes = evaluator_nodes(cfg)
    evaluators = {name: build_node(node, key) for name, (node, key) in nodes.items()}
    for name, ev in evaluators.items():  # checked at start, not at the first evaluation hours in
        if getattr(ev, "reference", None) == "test" and cfg.data.get("test_dataset") is None:
            raise ConfigError(f"{nodes[name][1]}.reference=test needs held-out images and data.test_dataset is "
                              f"null: set data.test_dataset or {nodes[name][1]}.reference=train")
    return evaluators


def build(cfg: DictConfig, device: torch.device, ranks=None) -> TrainingSetup:
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
    evaluators = build_evaluators(cfg)
    return TrainingSetup(algorithm, batches, optimizers, schedulers, n, evaluators)
