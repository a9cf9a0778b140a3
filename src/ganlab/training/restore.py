"""Rebuild a trained algorithm from a checkpoint alone (it carries its config): for sample,
translate and eval."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import OmegaConf

from ganlab.config.trusted import check_targets
from ganlab.errors import UsageError
from ganlab.training import checkpoint as ckpt_io
from ganlab.training.build import build_algorithm


def load_algorithm(ckpt_path: str | Path, device: torch.device):
    """The algorithm of a checkpoint, weights loaded, in eval mode; and its config. The
    checkpoint is untrusted input: loaded without unpickling code, refused if it holds NaN/Inf,
    and its config may only build allow-listed classes (config/trusted.py)."""
    state = ckpt_io.load_for_inference(ckpt_path, map_location=device)
    if not isinstance(state.get("config"), dict) or "modules" not in state:
        raise UsageError(f"{ckpt_path} is not a ganlab checkpoint (no config / modules in it)")
    check_targets(state["config"], source=str(ckpt_path))
    cfg = OmegaConf.create(state["config"])
    algo = build_algorithm(cfg)
    for name, m in algo.modules().items():
        m.load_state_dict(state["modules"][name])
        m.to(device).eval()
    return algo, cfg, state
