"""`ganlab sample`: rebuild the generator from a checkpoint alone (it carries its config)."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import OmegaConf

from ganlab.cli import arg_int, parse_kv, writable_output
from ganlab.config.trusted import check_targets
from ganlab.errors import UsageError
from ganlab.training import checkpoint as ckpt_io
from ganlab.training.build import build_step
from ganlab.training.runtime import pick_device


def load_step(ckpt_path: str | Path, device: torch.device):
    """The GAN step object of a checkpoint, weights loaded, in eval mode; and its config. The
    checkpoint is untrusted input: loaded without unpickling code, refused if it holds NaN/Inf,
    and its config may only build allow-listed classes (config/trusted.py)."""
    state = ckpt_io.load_for_inference(ckpt_path, map_location=device)
    if not isinstance(state.get("config"), dict) or "modules" not in state:
        raise UsageError(f"{ckpt_path} is not a ganlab checkpoint (no config / modules in it)")
    check_targets(state["config"], source=str(ckpt_path))
    cfg = OmegaConf.create(state["config"])
    step = build_step(cfg)
    for name, m in step.modules().items():
        m.load_state_dict(state["modules"][name])
        m.to(device).eval()
    return step, cfg, state


def sample_command(args: list[str]) -> None:
    kv = parse_kv(args, required=("ckpt",), allowed=("ckpt", "n", "out", "seed", "device", "nrow"))
    device = pick_device(kv.get("device", "auto"))
    n, seed = arg_int(kv, "n", 64), arg_int(kv, "seed", 0, min_value=0)
    out = writable_output(kv.get("out", "samples.png"))
    step, cfg, state = load_step(kv["ckpt"], device)
    if not hasattr(step, "generate"):
        raise UsageError(f"{cfg.model.name} is a translation model: use `ganlab translate`")
    samples = step.generate(n, device=device, seed=seed).float().cpu()
    nrow = arg_int(kv, "nrow", max(1, int(n ** 0.5)))
    try:
        if samples.dim() == 2:  # 2D data: a scatter over the true modes
            from ganlab.metrics.modes import scatter_figure
            from ganlab.training.build import build_dataset
            data = build_dataset(cfg)
            scatter_figure(samples, data.centers, data.std).savefig(out, dpi=100)
        else:
            from torchvision.utils import save_image
            save_image(samples, out, nrow=nrow, normalize=True, value_range=(-1, 1))
    except OSError as e:
        raise UsageError(f"out={out}: cannot write it ({e.strerror or e})") from None
    print(f"{n} samples from {kv['ckpt']} (step {state['step']}) -> {out}")
