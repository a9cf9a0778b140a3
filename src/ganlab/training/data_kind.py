"""Does the data fit the model? Checked from the classes the config names, before anything is
built (and before the run directory exists): model=agan on shapes would otherwise fail at its
first batch (KeyError 'A'), model=dcgan on ring8 deep inside an interpolation.

Each dataset class declares `data_kind` (images | points | unpaired); an algorithm declares what
it trains on, or, when it has no `data_kind` of its own (GAN, the baselines), its networks do."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from ganlab.config import CONF_DIR
from ganlab.errors import ConfigError

WORDS = {"images": "images", "points": "2D points", "unpaired": "unpaired data (two image domains A and B)"}


def _class(node) -> type | None:
    """A node's _target_ class; None when it names none, or one that does not import (that is
    reported, naming its key, when it is built)."""
    from hydra.utils import get_object
    target = node.get("_target_") if isinstance(node, DictConfig | dict) else None
    try:
        return get_object(target) if isinstance(target, str) else None
    except Exception:
        return None


def _kind(node) -> str | None:
    """`data_kind` of a node's class; None for a class that does not say (a user's own: not checked)."""
    return getattr(_class(node), "data_kind", None)


def needed(cfg: DictConfig) -> tuple[str | None, str]:
    """(what the model trains on, why: the class that says so)."""
    model = cfg.model
    algorithm = model.get("algorithm")
    kind = _kind(algorithm)
    if kind is not None:
        return kind, algorithm._target_.rsplit(".", 1)[-1]
    nets = {name: OmegaConf.select(model, f"networks.{name}", throw_on_resolution_failure=False)
            for name in (model.get("networks") or {})}
    kinds = {name: _kind(node) for name, node in nets.items()}
    known = {k for k in kinds.values() if k is not None}
    if len(known) != 1:  # none say, or the networks disagree (a user's mix): leave it to the build
        return None, ""
    # a baseline's one network comes from its own group (model/denoiser): name it; a GAN's pair, not
    decided = [f"{nets[n]._target_.rsplit('.', 1)[-1]} (model.networks.{n})" for n, k in kinds.items() if k]
    return known.pop(), decided[0] if len(decided) == 1 else ""


def fitting_data(kind: str) -> list[str]:
    """The shipped data configs (conf/data/) whose dataset is of this kind."""
    names = []
    for f in sorted((CONF_DIR / "data").glob("*.yaml")):
        node = OmegaConf.load(f).get("dataset")
        if _kind(node) == kind:
            names.append(f.stem)
    return names


def check_data_fits(cfg: DictConfig) -> None:
    """ConfigError naming the data configs that fit, when the model's data and the data differ;
    or naming the size a network cannot take (its class's `check_image_size`), before a dataset
    of that size fills memory."""
    need, why = needed(cfg)
    have = _kind(cfg.data.get("dataset"))
    if need is not None and have is not None and need != have:
        fits = fitting_data(need)
        choices = (", ".join(fits[:-1]) + " or " + fits[-1]) if len(fits) > 1 else "".join(fits) or "a data config of that kind"
        via = f" with {why}" if "model.networks" in why else ""
        raise ConfigError(f"model={cfg.model.get('name', '?')}{via} needs {WORDS[need]}, and data="
                          f"{cfg.data.get('name', '?')} holds {WORDS[have].split(' (')[0]}: use data={choices}")
    check_classes(cfg)
    for name in cfg.model.get("networks") or {}:
        node = OmegaConf.select(cfg.model, f"networks.{name}", throw_on_resolution_failure=False)
        check = getattr(_class(node), "check_image_size", None)
        size = OmegaConf.select(node, "image_size", throw_on_resolution_failure=False) if check else None
        if size is not None:
            try:
                check(size)
            except ConfigError as e:
                raise ConfigError(f"model.networks.{name}: {e}") from None


def check_classes(cfg: DictConfig) -> None:
    """A conditional baseline (model.num_classes > 0) needs exactly the data's classes: its label
    embedding has a row per label the data can hold."""
    want = OmegaConf.select(cfg, "model.num_classes", default=0, throw_on_resolution_failure=False)
    have = OmegaConf.select(cfg, "data.num_classes", default=0, throw_on_resolution_failure=False) or 0
    if isinstance(want, int) and want > 0 and want != have:
        fix = f"set model.num_classes={have}, or 0 for" if have else "use labelled data (data=shapes, digits, " \
              "stacked_digits) or model.num_classes=0 for"
        raise ConfigError(f"model.num_classes={want}: data={cfg.data.get('name', '?')} has {have} classes "
                          f"(data.num_classes); {fix} an unconditional model")
