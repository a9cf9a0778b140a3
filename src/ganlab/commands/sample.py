"""`ganlab sample RUN_DIR|CKPT`: rebuild the generator from a checkpoint alone (it carries its
config); a run directory means its best.pt (else last.pt)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ganlab.commands.args import (
    DEVICE,
    DEVICE_OPTION,
    RUN_OR_CKPT,
    checkpoint_in,
    in_option_syntax,
    writable_output,
)
from ganlab.errors import UsageError
from ganlab.files import atomic_save_figure, atomic_save_image, image_format


@click.command("sample")
@RUN_OR_CKPT
@click.option("--n", type=click.IntRange(min=1),
              help="number of samples, in class order for a conditional model  [default: 64; conditional: "
                   "8 per class, one row per class; --mode interpolate: 4 strips]")
@click.option("--out", default="samples.png", show_default=True, help="image (grid or 2D scatter) to write")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="noise seed")
@click.option("--nrow", type=click.IntRange(min=1), help="images per grid row  [default: sqrt(n); conditional: n / classes]")
@click.option("--steps", type=click.IntRange(min=1),
              help="sampling steps of flow (ODE) / ddpm (DDIM)  [default: the run's model.algorithm.sample_steps]")
@click.option("--guidance", type=float, metavar="W",
              help="conditional flow / ddpm: classifier-free guidance, 0 unconditional, 1 conditional, > 1 "
                   "guided  [default: the run's model.algorithm.guidance]")
@click.option("--mode", type=click.Choice(["samples", "interpolate"]), default="samples", show_default=True,
              help="interpolate: one strip per row, slerp between two noise points")
@click.option("--frames", default=8, show_default=True, type=click.IntRange(min=2),
              help="--mode interpolate: points per strip")
@DEVICE
@in_option_syntax(DEVICE_OPTION)
def command(ckpt: str, n: int | None, out: str, seed: int, nrow: int | None, steps: int | None,
            guidance: float | None, mode: str, frames: int, device: str) -> None:
    """Images (or a 2D scatter over the true modes) from a checkpoint alone (a run directory: its
    best.pt, else last.pt); or interpolation strips between noise points."""
    import torch

    from ganlab.training.resume import load_algorithm
    from ganlab.training.runtime import pick_device
    ckpt = str(checkpoint_in(ckpt))
    n_given, n = n, n or (4 if mode == "interpolate" else 64)
    device = pick_device(device)
    out = writable_output(image_output(out))
    algo, cfg, state = load_algorithm(ckpt, device)
    if not hasattr(algo, "generate"):
        if not hasattr(algo, "translate"):  # model=sdpc: a sparse coder
            raise UsageError(f"{cfg.model.name} draws no samples: its dictionaries and reconstructions are the run's "
                             f"final_*.png and TensorBoard's samples/ panels")
        raise UsageError(f"{cfg.model.name} is a translation model: use `ganlab translate`")
    if steps is not None:
        if not hasattr(algo, "sample_steps"):
            raise UsageError(f"--steps: {cfg.model.name} samples in one network pass; drop --steps")
        algo.sample_steps = steps
    if guidance is not None:
        if not (hasattr(algo, "guidance") and hasattr(algo, "sample_steps")):  # flow, ddpm: iterative denoisers
            raise UsageError(f"--guidance: {cfg.model.name} is not a flow or ddpm model (classifier-free "
                             f"guidance mixes a denoiser's conditional and unconditional predictions); drop --guidance")
        if not algo.num_classes:
            raise UsageError(f"--guidance: {ckpt} is an unconditional {cfg.model.name} (model.num_classes=0); "
                             f"drop --guidance, or train with model.num_classes=<the data's classes>")
        if not math.isfinite(guidance):
            raise UsageError(f"--guidance {guidance}: must be a finite number (0, 1, 3 ...)")
        algo.guidance = guidance
    if mode == "interpolate":
        samples, nrow = interpolate(algo, rows=n, frames=frames, seed=seed, device=device), frames
    else:
        extra, classes = {}, getattr(algo, "num_classes", 0)
        if classes:  # a conditional model: one row per class, in class order
            n = n_given or classes * 8
            extra["y"] = torch.arange(n) * classes // n
            nrow = nrow or (n // classes if n % classes == 0 else None)
        samples = algo.generate(n, device=device, seed=seed, **extra).float().cpu()
    if samples.dim() == 2 and out.suffix.lower().lstrip(".") not in FIGURE_FORMATS:
        raise UsageError(f"--out {out}: a 2D scatter is written as {', '.join('.' + f for f in FIGURE_FORMATS)}; "
                         f"choose one of those extensions")
    try:
        if samples.dim() == 2:  # 2D data: a scatter over the true modes
            from ganlab.metrics.modes import scatter_figure
            from ganlab.training.build import build_dataset
            data = build_dataset(cfg)
            fig = scatter_figure(samples, data.centers, data.std)
            if mode == "interpolate":  # each strip as a path
                for strip in samples.view(n, frames, 2).numpy():
                    fig.axes[0].plot(strip[:, 0], strip[:, 1], "-", lw=0.8, alpha=0.7)
            atomic_save_figure(out, fig, dpi=100)
        else:
            atomic_save_image(out, samples, nrow=nrow or max(1, int(n ** 0.5)), normalize=True, value_range=(-1, 1))
    except OSError as e:
        raise UsageError(f"--out {out}: cannot write it ({e.strerror or e})") from None
    cost = f", {algo.sample_steps} steps, {algo.nfe} network evaluations per sample" if hasattr(algo, "sample_steps") else ""
    if getattr(algo, "guidance", None) is not None and algo.num_classes:
        cost += f", guidance {algo.guidance:g}"
    what = f"{n} interpolation strips of {frames}" if mode == "interpolate" else f"{n} samples"
    print(f"{what} from {ckpt} (step {state['step']}{cost}) -> {out}")


FIGURE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg")  # matplotlib's, for the 2D scatter


def image_output(out: str) -> Path:
    """--out checked before anything is loaded or written: a file, with an extension ganlab can write."""
    path = Path(out)
    if path.is_dir():
        raise UsageError(f"--out {out}: is a folder; name the image file to write, e.g. --out {path / 'samples.png'}")
    try:
        image_format(path)
    except ValueError:
        if path.suffix.lower().lstrip(".") not in FIGURE_FORMATS:
            raise UsageError(f"--out {out}: unknown image extension {path.suffix or '(none)'!r}; use .png, .jpg, "
                             f".webp, .pdf ...") from None
    return path


def interpolate(algo, *, rows: int, frames: int, seed: int, device):
    """`rows` strips of `frames` samples along slerp paths between seeded noise points; a
    conditional GAN keeps one class per strip (row i: class i mod classes)."""
    import torch

    from ganlab.algorithms.interpolation import noise_strips
    if not hasattr(algo, "latent_shape"):
        raise UsageError("--mode interpolate: this model has no noise input to interpolate")
    z = noise_strips(algo.latent_shape, rows=rows, frames=frames, seed=seed)
    extra = {}
    if getattr(algo, "num_classes", 0):
        extra["y"] = (torch.arange(rows) % algo.num_classes).repeat_interleave(frames)
    return algo.generate(rows * frames, device=device, seed=seed, z=z, **extra).float().cpu()
