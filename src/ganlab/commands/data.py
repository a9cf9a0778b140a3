"""`ganlab data download NAME` and `ganlab data prepare [Hydra overrides]`."""

from __future__ import annotations

from pathlib import Path

import click

from ganlab.errors import UsageError

DOWNLOADABLE = ("horse2zebra",)  # ganlab.data.download.DATASETS (checked by a test): no torch import for --help


@click.group("data")
def command() -> None:
    """Fetch a public dataset, or write a dataset once into an h5 cache."""


@command.command("download")
@click.argument("name", type=click.Choice(DOWNLOADABLE))
@click.option("--root", help="where to put it  [default: data/NAME]")
@click.option("--url", help="another mirror of the same archive (checked the same way)")
@click.option("--force", is_flag=True, help="download again even if it is already there")
def download(name: str, root: str | None, url: str | None, force: bool) -> None:
    """Fetch and check a public dataset."""
    from ganlab.data.download import download as fetch
    from ganlab.data.errors import DataError
    try:
        path = fetch(name, root=Path(root or f"data/{name}"), url=url, force=force)
    except DataError as e:
        raise UsageError(str(e)) from e
    print(f"{name} ready in {path}")


@command.command("prepare", context_settings={"ignore_unknown_options": True})
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@click.option("--dtype", default="uint8", show_default=True, type=click.Choice(["uint8", "float16"]))
def prepare(overrides: tuple[str, ...], dtype: str) -> None:
    """Write a dataset (Hydra overrides: data=NAME ...) once into an h5 cache; train from it with
    data.cache=h5."""
    from omegaconf import OmegaConf

    from ganlab.config import compose
    cfg = compose([*overrides, "data.cache=none"])  # a bad override: refused before torch is imported
    from ganlab.data.errors import DataError
    from ganlab.data.h5cache import cache_path
    from ganlab.data.h5cache import prepare as write_cache
    from ganlab.training.build import build_dataset
    if "augment" in cfg.data.dataset:  # the cache holds clean images; augmentation runs on top
        cfg.data.dataset.augment = False
    path = cache_path(cfg)
    try:
        write_cache(build_dataset(cfg), path, dtype=dtype,
                    source_config=OmegaConf.to_container(cfg.data.dataset, resolve=True))
    except DataError as e:
        raise UsageError(str(e)) from e
    print(f"{cfg.data.name}: {path} ({path.stat().st_size / 2**20:.1f} MiB, {dtype}); train from it with "
          f"data={cfg.data.name} data.cache=h5")
