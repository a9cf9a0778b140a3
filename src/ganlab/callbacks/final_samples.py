"""At the end of training, beside summary.json: a large final sample grid (final_samples.png:
n fresh samples, one row per class for a conditional G; the scatter over the true modes for 2D
data; the labeled panels of a translation model as final_<name>.png) and, per visual, the grids
logged during training as one animation (samples_<name>.gif). Rank 0 only, like every callback."""

from __future__ import annotations

import io
import math
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from ganlab.callbacks.base import Callback, RunView
from ganlab.files import atomic_write_bytes
from ganlab.sample_files import sample_files


class FinalSamples(Callback):
    def __init__(self, *, n: int = 64,            # samples in the final grid
                 max_frames: int = 60,            # GIF frames at most, spread over the run (memory stays bounded)
                 frame_ms: int = 250):
        self.n, self.max_frames, self.frame_ms = n, max_frames, frame_ms

    def on_train_end(self, run: RunView, status):
        if status == "failed":  # non-finite networks: nothing worth drawing
            return
        with run.isolated_rng(), torch.no_grad():  # the final checkpoint's RNG stays training's
            self.write_final(run)
        for name, files in sample_files(run.dir).items():
            write_gif(files, run.dir / f"samples_{name}.gif", max_frames=self.max_frames, frame_ms=self.frame_ms)

    def write_final(self, run: RunView) -> None:
        alg = run.algorithm
        if not hasattr(alg, "generate"):  # translation, a sparse coder: its panels, labeled
            if hasattr(alg, "visuals"):
                for name, vis in alg.visuals(run).items():
                    _save(vis, run.dir / f"final_{name.replace('/', '_')}.png")
            return
        classes = getattr(alg, "num_classes", 0) or 0
        y = None
        if classes:  # one row per class
            per_row = max(1, self.n // classes)
            y = torch.arange(classes).repeat_interleave(per_row)
        labels = {"y": y} if y is not None else {}  # only conditional models take labels
        x = alg.generate(len(y) if y is not None else self.n, device=run.device, seed=0, **labels).float().cpu()
        if x.dim() == 2:  # 2D points
            from ganlab.metrics.modes import scatter_figure
            data = run.dataset("train")
            fig = scatter_figure(x, data.centers, data.std)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=100)
            atomic_write_bytes(run.dir / "final_samples.png", buf.getvalue())
            return
        from torchvision.utils import make_grid
        nrow = len(x) // classes if classes else math.ceil(math.sqrt(len(x)))
        _save(make_grid(x, nrow=nrow, normalize=True, value_range=(-1, 1)), run.dir / "final_samples.png")


def _save(grid, path: Path) -> None:
    """An image tensor (CHW in [0, 1]) or a matplotlib Figure (model=sdpc's inference curve) as a PNG."""
    buf = io.BytesIO()
    if not isinstance(grid, torch.Tensor):
        grid.savefig(buf, format="png", dpi=100)
        atomic_write_bytes(path, buf.getvalue())
        return
    arr = (grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(arr).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def write_gif(files: list[tuple[int, Path]], out: Path, *, max_frames: int, frame_ms: int) -> None:
    """One frame per grid, at most max_frames spread evenly (first and last kept), each with its
    step written in; frames are palette images, read one at a time."""
    if len(files) > max_frames:
        idx = sorted({round(i * (len(files) - 1) / (max_frames - 1)) for i in range(max_frames)})
        files = [files[i] for i in idx]
    frames = [_frame(Image.open(f), step) for step, f in files]
    if not frames:
        return
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    atomic_write_bytes(out, buf.getvalue())


def _frame(img: Image.Image, step: int) -> Image.Image:
    img = img.convert("RGB")
    font = ImageFont.load_default(size=max(8, min(14, img.width // 12)))
    strip = Image.new("RGB", (img.width, font.size + 4), "white")
    ImageDraw.Draw(strip).text((3, 2), f"step {step}", fill="black", font=font)
    out = Image.new("RGB", (img.width, img.height + strip.height), "white")
    out.paste(strip, (0, 0))
    out.paste(img, (0, strip.height))
    return out.convert("P", palette=Image.Palette.ADAPTIVE)
