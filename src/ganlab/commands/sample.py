"""`ganlab sample`: rebuild the generator from a checkpoint alone (it carries its config)."""

from __future__ import annotations

from ganlab.commands.args import arg_int, parse_kv, writable_output
from ganlab.errors import UsageError
from ganlab.training.restore import load_algorithm
from ganlab.training.runtime import pick_device


def sample_command(args: list[str]) -> None:
    kv = parse_kv(args, required=("ckpt",), allowed=("ckpt", "n", "out", "seed", "device", "nrow"))
    device = pick_device(kv.get("device", "auto"))
    n, seed = arg_int(kv, "n", 64), arg_int(kv, "seed", 0, min_value=0)
    out = writable_output(kv.get("out", "samples.png"))
    algo, cfg, state = load_algorithm(kv["ckpt"], device)
    if not hasattr(algo, "generate"):
        raise UsageError(f"{cfg.model.name} is a translation model: use `ganlab translate`")
    samples = algo.generate(n, device=device, seed=seed).float().cpu()
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
