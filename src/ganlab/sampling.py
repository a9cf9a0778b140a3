"""`ganlab sample`: rebuild the generator from a checkpoint alone (it carries its config)."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import OmegaConf

from ganlab.cli import UsageError, parse_kv
from ganlab.training import checkpoint as ckpt_io
from ganlab.training.build import build_step
from ganlab.training.runtime import pick_device


def load_step(ckpt_path: str | Path, device: torch.device):
    """The GAN step object of a checkpoint, weights loaded, in eval mode; and its config.
    A missing or unloadable checkpoint is a usage error naming the path."""
    try:
        state = ckpt_io.load(ckpt_path, map_location=device)
    except ckpt_io.CheckpointError as e:
        raise UsageError(str(e)) from e
    cfg = OmegaConf.create(state["config"])
    step = build_step(cfg)
    for name, m in step.modules().items():
        m.load_state_dict(state["modules"][name])
        m.to(device).eval()
    return step, cfg, state


def sample_command(args: list[str]) -> None:
    kv = parse_kv(args, required=("ckpt",), allowed=("ckpt", "n", "out", "seed", "device", "nrow"))
    device = pick_device(kv.get("device", "auto"))
    n, seed = int(kv.get("n", 64)), int(kv.get("seed", 0))
    out = Path(kv.get("out", "samples.png"))
    step, cfg, state = load_step(kv["ckpt"], device)
    if not hasattr(step, "generate"):
        raise UsageError(f"{cfg.model.name} is a translation model: use `ganlab translate`")
    samples = step.generate(n, device=device, seed=seed).float().cpu()
    out.parent.mkdir(parents=True, exist_ok=True)
    if samples.dim() == 2:  # 2D data: a scatter over the true modes
        from ganlab.metrics.modes import scatter_figure
        from ganlab.training.build import build_dataset
        data = build_dataset(cfg)
        scatter_figure(samples, data.centers, data.std).savefig(out, dpi=100)
    else:
        from torchvision.utils import save_image
        nrow = int(kv.get("nrow", max(1, int(n ** 0.5))))
        save_image(samples, out, nrow=nrow, normalize=True, value_range=(-1, 1))
    print(f"{n} samples from {kv['ckpt']} (step {state['step']}) -> {out}")
