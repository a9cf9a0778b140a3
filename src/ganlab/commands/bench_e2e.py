"""`ganlab bench e2e`: a short run judged end to end. The whole `ganlab train` command (start-up,
data check, training, final evaluation, checkpoints, samples) against the whole plain PyTorch
script a researcher would write instead (bench_e2e_script), on the same folder of PNG images,
for a few epoch counts. Ratio > 1: ganlab is faster. The script does not evaluate and ganlab
does (FID/KID at the end, by default): the table also gives ganlab's seconds in its evaluators
(the run's summary.json, timings.eval_time_s) and the ratio without them, to show where a gap is."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
from rich.console import Console

from ganlab.commands.console import results_table

POSITIVE = click.IntRange(min=1)


def write_png_folder(folder: Path, n: int, size: int) -> Path:
    """n PNG images of size x size (ganlab's `shapes` data, deterministic) into folder."""
    import torch
    from PIL import Image

    from ganlab.data.synthetic import Shapes
    folder.mkdir(parents=True, exist_ok=True)
    src = Shapes(size=n, image_size=size, seed=0)
    for i in range(n):
        x = ((src[i]["x"].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
        Image.fromarray(x).save(folder / f"{i:05d}.png")
    return folder


def _timed(cmd: list[str], cwd: Path) -> float:
    """Wall seconds of the whole command; its output is shown only if it fails."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise click.ClickException(f"exit code {done.returncode} from {' '.join(cmd)}:\n{tail}")
    return seconds


def _eval_seconds(cwd: Path) -> float:
    """The seconds a ganlab run spent evaluating (its summary.json under cwd; 0 if none)."""
    summaries = sorted(cwd.rglob("summary.json"))
    if not summaries:
        return 0.0
    return float(json.loads(summaries[-1].read_text()).get("timings", {}).get("eval_time_s", 0.0))


def _epochs(text: str) -> list[int]:
    try:
        out = [int(e) for e in text.split(",")]
    except ValueError:
        out = []
    if not out or min(out) < 1:
        raise click.BadParameter(f"{text!r}: a comma-separated list of epoch counts >= 1, e.g. 1,10")
    return out


@click.command("e2e")
@click.option("--n", default=2048, show_default=True, type=POSITIVE, help="PNG images in the folder")
@click.option("--image-size", default=64, show_default=True, type=POSITIVE, help="a power of two >= 16 (DCGAN)")
@click.option("--batch-size", default=64, show_default=True, type=POSITIVE)
@click.option("--epochs", default="1,10", show_default=True, help="epoch counts, comma-separated: one run each")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=0), help="DataLoader workers of both")
@click.option("--rounds", default=1, show_default=True, type=POSITIVE, help="alternated rounds (the best counts)")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda, for both")
def e2e(n: int, image_size: int, batch_size: int, epochs: str, workers: int, rounds: int, device: str) -> None:
    """Whole-command seconds of `ganlab train model=dcgan data=folder` vs a plain PyTorch DCGAN
    script (bench_e2e_script: same networks, batch, optimizer, epochs; no evaluation) on n
    synthetic PNG images; ratio = script / ganlab (> 1: ganlab is faster)."""
    from omegaconf import OmegaConf

    from ganlab.config import compose
    counts = _epochs(epochs)
    if n < batch_size:
        raise click.BadParameter(f"--n {n} is fewer images than one batch (--batch-size {batch_size})")
    train = ["model=dcgan", "data=folder", f"data.image_size={image_size}", f"data.batch_size={batch_size}",
             f"data.num_workers={workers}", f"trainer.device={device}", "trainer.max_steps=0"]
    cfg = compose([*train, "trainer.max_epochs=1", "data.root=."])
    nets = {k: {a: v for a, v in OmegaConf.to_container(cfg.model.networks[k], resolve=True).items() if a != "_target_"}
            for k in ("G", "D")}
    console = Console()
    console.print(f"bench e2e: dcgan {image_size}px, batch {batch_size}, {n} PNG images, {workers} loader workers, "
                  f"epochs {','.join(map(str, counts))}, best of {rounds} round(s); whole commands, each in a fresh "
                  f"working directory (the FID reference is computed by every ganlab run)")
    times: dict[tuple[int, str], list[float]] = {}
    evals: dict[int, list[float]] = {}  # ganlab's seconds in evaluators, per run
    with tempfile.TemporaryDirectory(prefix="ganlab-bench-e2e-") as d:
        root = write_png_folder(Path(d) / "images", n, image_size)
        for r in range(rounds):
            for e in counts:
                script = [sys.executable, "-m", "ganlab.commands.bench_e2e_script", "--root", str(root),
                          "--nets", json.dumps(nets), "--epochs", str(e), "--batch-size", str(batch_size),
                          "--workers", str(workers), "--device", device]
                ganlab = [sys.executable, "-m", "ganlab", "train", *train, f"trainer.max_epochs={e}",
                          f"data.root={root}"]
                for name, cmd in (("script", script), ("ganlab", ganlab)):  # alternate: the same machine load
                    cwd = Path(d) / f"{name}_{e}_{r}"
                    cwd.mkdir()
                    if name == "script":
                        cmd = [*cmd, "--out", str(cwd)]
                    times.setdefault((e, name), []).append(_timed(cmd, cwd))
                    note = ""
                    if name == "ganlab":
                        evals.setdefault(e, []).append(_eval_seconds(cwd))
                        note = f" (of which evaluation {evals[e][-1]:.1f} s)"
                    console.print(f"  {name}, {e} epoch(s), round {r + 1}: {times[(e, name)][-1]:.1f} s{note}")
    t = results_table("end to end (s, whole command, best of rounds)",
                      ("epochs", "steps", "script", "ganlab", "ratio", "its eval", "ratio w/o eval"))
    for e in counts:
        s = min(times[(e, "script")])
        best = min(range(rounds), key=lambda i: times[(e, "ganlab")][i])  # the best round and its own eval
        g, ev = times[(e, "ganlab")][best], evals[e][best]
        t.add_row(str(e), str(e * (n // batch_size)), f"{s:.1f}", f"{g:.1f}", f"{s / g:.2f}", f"{ev:.1f}",
                  f"{s / (g - ev):.2f}")
    console.print(t)
    console.print("ratio = script/ganlab; its eval: ganlab's seconds in its evaluators (the script has none); "
                  "ratio w/o eval = script/(ganlab - its eval)")
    console.print("script/ganlab ratio: " + ", ".join(
        f"{e} epoch(s) {min(times[(e, 'script')]) / min(times[(e, 'ganlab')]):.2f}" for e in counts))
