"""`ganlab data download <name>` and `ganlab data prepare data=<name> [overrides]`."""

from __future__ import annotations

from pathlib import Path

from ganlab.commands.args import parse_kv
from ganlab.errors import UsageError


def data_command(args: list[str]) -> None:
    if not args or args[0] not in ("download", "prepare"):
        raise UsageError("usage: ganlab data download <name> [root=DIR] [url=URL] [force=true]\n"
                         "       ganlab data prepare data=<name> [dtype=uint8|float16] [Hydra overrides]")
    from ganlab.data.errors import DataError
    try:
        (_download if args[0] == "download" else _prepare)(args[1:])
    except DataError as e:
        raise UsageError(str(e)) from e


def _download(args: list[str]) -> None:
    from ganlab.data.download import DATASETS, download
    if not args or "=" in args[0]:
        raise UsageError(f"which dataset? ganlab data download <{'|'.join(DATASETS)}>")
    name = args[0]
    kv = parse_kv(args[1:], allowed=("root", "url", "force"))
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}: downloadable ones are {', '.join(DATASETS)}")
    root = Path(kv.get("root", f"data/{name}"))
    path = download(name, root=root, url=kv.get("url"), force=kv.get("force", "false").lower() == "true")
    print(f"{name} ready in {path}")


def _prepare(args: list[str]) -> None:
    from ganlab.config import compose
    from ganlab.data.h5cache import cache_path, prepare
    from ganlab.training.build import build_dataset
    dtype = "uint8"
    overrides = []
    for a in args:
        if a.startswith("dtype="):
            dtype = a.split("=", 1)[1]
        else:
            overrides.append(a)
    if dtype not in ("uint8", "float16"):
        raise UsageError(f"dtype={dtype}: choose uint8 or float16")
    cfg = compose(overrides + ["data.cache=none"])
    if "augment" in cfg.data.dataset:  # the cache holds clean images; augmentation runs on top
        cfg.data.dataset.augment = False
    path = cache_path(cfg)
    from omegaconf import OmegaConf
    prepare(build_dataset(cfg), path, dtype=dtype,
            source_config=OmegaConf.to_container(cfg.data.dataset, resolve=True))
    print(f"{cfg.data.name}: {path} ({path.stat().st_size / 2**20:.1f} MiB, {dtype}); train from it with "
          f"data={cfg.data.name} data.cache=h5")
