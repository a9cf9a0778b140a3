"""`ganlab translate RUN_DIR|CKPT INPUT OUT`: a folder of images through a translation checkpoint (one
output per input, and the attention masks for aNet)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ganlab.commands.args import DEVICE, DEVICE_OPTION, RUN_OR_CKPT, checkpoint_in, in_option_syntax
from ganlab.errors import UsageError
from ganlab.files import atomic_save_image


@click.command("translate")
@RUN_OR_CKPT
@click.argument("input_dir", metavar="INPUT", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--direction", default="AtoB", show_default=True, type=click.Choice(["AtoB", "BtoA"]))
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1))
@DEVICE
@in_option_syntax(DEVICE_OPTION)
def command(ckpt: str, input_dir: Path, out: Path, direction: str, batch_size: int, device: str) -> None:
    """Translate every image under INPUT (recursively) into OUT, keeping the folder layout."""
    import torch
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms import v2

    from ganlab.data.folders import EXTENSIONS
    from ganlab.training.resume import load_algorithm
    from ganlab.training.runtime import pick_device
    ckpt = str(checkpoint_in(ckpt))
    device = pick_device(device)
    files = sorted(p for p in input_dir.rglob("*") if p.suffix.lower() in EXTENSIONS)
    if not files:
        raise UsageError(f"INPUT {input_dir}: no images ({', '.join(sorted(EXTENSIONS))}) in that folder")
    algo, cfg, state = load_algorithm(ckpt, device)
    if not hasattr(algo, "translate"):
        raise UsageError(f"{cfg.model.name} is not a translation model: use `ganlab sample`")
    mode = "RGB" if cfg.data.channels == 3 else "L"
    prep = v2.Compose([v2.ToImage(), v2.Resize(cfg.data.image_size), v2.CenterCrop(cfg.data.image_size),
                       v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * cfg.data.channels,
                                                                           [0.5] * cfg.data.channels)])
    for f in files:  # headers only: a file that is no image fails before anything is written
        try:
            Image.open(f).close()
        except (UnidentifiedImageError, OSError) as e:
            raise UsageError(f"cannot read image {f}: {e}") from e
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"OUT {out}: cannot create that folder ({e.strerror})") from None
    if not os.access(out, os.W_OK):
        raise UsageError(f"OUT {out}: not writable here; choose another folder")
    for start in range(0, len(files), batch_size):
        chunk = files[start:start + batch_size]
        images = []
        for f in chunk:
            try:
                images.append(prep(Image.open(f).convert(mode)))
            except (UnidentifiedImageError, OSError) as e:
                raise UsageError(f"cannot read image {f}: {e}") from e
        res = algo.translate(torch.stack(images).to(device), direction)
        for i, f in enumerate(chunk):
            rel = f.relative_to(input_dir).with_suffix(".png")
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            atomic_save_image(out / rel, res["out"][i].float().cpu() * 0.5 + 0.5)
            if "attn" in res:
                atomic_save_image(out / rel.with_name(rel.stem + "_mask.png"), res["attn"][i].float().cpu())
    print(f"{len(files)} images {direction} with {ckpt} (step {state['step']}) -> {out}")
