"""`ganlab translate`: a folder of images through a translation checkpoint (one output per
input, and the attention masks for aNet)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms import v2
from torchvision.utils import save_image

from ganlab.commands.args import arg_int, parse_kv
from ganlab.data.folders import EXTENSIONS
from ganlab.errors import UsageError
from ganlab.training.restore import load_algorithm
from ganlab.training.runtime import pick_device


def translate_command(args: list[str]) -> None:
    kv = parse_kv(args, required=("ckpt", "input", "out"),
                  allowed=("ckpt", "input", "out", "direction", "device", "batch_size"))
    device = pick_device(kv.get("device", "auto"))
    direction = kv.get("direction", "AtoB")
    src, out = Path(kv["input"]), Path(kv["out"])
    if not src.is_dir():
        raise UsageError(f"input={src}: no such folder")
    files = sorted(p for p in src.rglob("*") if p.suffix.lower() in EXTENSIONS)
    if not files:
        raise UsageError(f"input={src}: no images ({', '.join(sorted(EXTENSIONS))}) in that folder")
    algo, cfg, state = load_algorithm(kv["ckpt"], device)
    if not hasattr(algo, "translate"):
        raise UsageError(f"{cfg.model.name} is not a translation model: use `ganlab sample`")
    if direction not in ("AtoB", "BtoA"):
        raise UsageError(f"direction={direction!r}: choose AtoB or BtoA")
    mode = "RGB" if cfg.data.channels == 3 else "L"
    prep = v2.Compose([v2.ToImage(), v2.Resize(cfg.data.image_size), v2.CenterCrop(cfg.data.image_size),
                       v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * cfg.data.channels,
                                                                           [0.5] * cfg.data.channels)])
    bs = arg_int(kv, "batch_size", 16)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"out={out}: cannot create that folder ({e.strerror})") from None
    if not os.access(out, os.W_OK):
        raise UsageError(f"out={out}: not writable here; choose another out=")
    for start in range(0, len(files), bs):
        chunk = files[start:start + bs]
        images = []
        for f in chunk:
            try:
                images.append(prep(Image.open(f).convert(mode)))
            except (UnidentifiedImageError, OSError) as e:
                raise UsageError(f"cannot read image {f}: {e}") from e
        res = algo.translate(torch.stack(images).to(device), direction)
        for i, f in enumerate(chunk):
            rel = f.relative_to(src).with_suffix(".png")
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            save_image(res["out"][i].float().cpu() * 0.5 + 0.5, out / rel)
            if "attn" in res:
                save_image(res["attn"][i].float().cpu(), out / rel.with_name(rel.stem + "_mask.png"))
    print(f"{len(files)} images {direction} with {kv['ckpt']} (step {state['step']}) -> {out}")
