"""Rebuild a trained algorithm from a checkpoint alone (it carries its config): for sample,
translate and eval."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import OmegaConf

from ganlab.config.trusted import check_targets
from ganlab.errors import UsageError
from ganlab.metrics.features import feature_node
from ganlab.training import checkpoint as ckpt_io
from ganlab.training.build import build_algorithm


def load_algorithm(ckpt_path: str | Path, device: torch.device):
    """The algorithm of a checkpoint, weights loaded, in eval mode; and its config. The
    checkpoint is untrusted input: loaded without unpickling code, refused if it holds NaN/Inf,
    and its config may only build allow-listed classes (config/trusted.py)."""
    state = ckpt_io.load_for_inference(ckpt_path, map_location=device)
    if not isinstance(state.get("config"), dict) or "modules" not in state:
        raise UsageError(f"{ckpt_path} is not a ganlab checkpoint (no config / modules in it)")
    config = upgrade_evaluators(state["config"])
    check_targets(config, source=str(ckpt_path))
    cfg = OmegaConf.create(config)
    algo = build_algorithm(cfg)
    for name, m in algo.modules().items():
        m.load_state_dict(state["modules"][name])
        m.to(device).eval()
    return algo, cfg, state


OLD_FID = "ganlab.metrics.evaluators.FIDKID"  # before FIDKIDEvaluator, with `feature: <name>`


def upgrade_evaluators(node):
    """A stored config with OLD_FID evaluators in today's form: the checkpoint stays loadable."""
    if isinstance(node, list):
        return [upgrade_evaluators(v) for v in node]
    if not isinstance(node, dict):
        return node
    if node.get("_target_") == OLD_FID and isinstance(node.get("feature", "inception"), str):
        node = {k: v for k, v in node.items() if k != "weights_path"} | {
            "_target_": "ganlab.metrics.evaluators.FIDKIDEvaluator",
            "feature": feature_node(node.get("feature", "inception"), node.get("weights_path"))}
    return {k: upgrade_evaluators(v) for k, v in node.items()}
