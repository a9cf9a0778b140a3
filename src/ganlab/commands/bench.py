"""`ganlab bench`: is the framework free? Training images/s of ganlab's loop against a bare,
hand-written PyTorch loop over the same networks and the same in-memory data.

Both run in this process, alternately, several rounds; the best round of each is compared
(the least disturbed by the rest of the machine)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
import torch
from hydra.utils import instantiate
from rich.console import Console

from ganlab.commands.bench_e2e import e2e, write_png_folder
from ganlab.commands.bench_likelihood import likelihood
from ganlab.commands.bench_matrix import matrix
from ganlab.commands.bench_quality import quality
from ganlab.commands.bench_r3gan import r3gan
from ganlab.commands.bench_sdpc import sdpc
from ganlab.commands.bench_small_data import small_data
from ganlab.commands.bench_translation import translation
from ganlab.commands.console import results_table
from ganlab.config import compose

POSITIVE = click.IntRange(min=1)


def ganlab_round(cfg, steps: int) -> float:
    """images/s of `train()` itself (callbacks and logger off, so only the loop is measured)."""
    from ganlab.analysis.runs import wall_time
    from ganlab.training.loop import train
    from ganlab.training.prepare import prepare_run
    cfg.trainer.max_steps = steps
    with tempfile.TemporaryDirectory() as d:
        summary = train(prepare_run(cfg, Path(d)))
    return steps * cfg.data.batch_size / wall_time(summary)


def bare_round(cfg, steps: int, data: torch.Tensor, G, D, opt_g, opt_d) -> float:
    """The loop a researcher would write by hand: D step on real vs G(z).detach(), G step."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    b, z_dim = cfg.data.batch_size, cfg.model.z_dim
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        real = data[torch.randint(0, data.shape[0], (b,), generator=gen)]
        fake = G(torch.randn(b, z_dim)).detach()
        d_real, d_fake = D(real), D(fake)
        loss_d = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        out = D(G(torch.randn(b, z_dim)))
        loss_g = bce(out, torch.ones_like(out))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    return steps * b / (time.perf_counter() - t0)


@click.group("bench", invoke_without_command=True)
@click.option("--steps", default=10, show_default=True, type=POSITIVE, help="training steps per round")
@click.option("--rounds", default=3, show_default=True, type=POSITIVE, help="alternated rounds (the best counts)")
@click.option("--image-size", default=64, show_default=True, type=POSITIVE)
@click.option("--batch-size", default=64, show_default=True, type=POSITIVE)
@click.option("--width", default=64, show_default=True, type=POSITIVE, help="DCGAN width")
@click.pass_context
def command(ctx, steps: int, rounds: int, image_size: int, batch_size: int, width: int) -> None:
    """Training throughput of ganlab's loop vs a bare PyTorch loop (or a subcommand below)."""
    if ctx.invoked_subcommand is not None:
        return
    overrides = ["model=dcgan", "loss=bce", "data=shapes", f"data.image_size={image_size}",
                 f"data.batch_size={batch_size}", f"model.width={width}", "model.algorithm.ema_decay=0.0",
                 "++data.in_memory=true", "data.dataset.size=1024", "trainer.device=cpu", "~logger",
                 "~callbacks", "~data.evaluators", "trainer.log_every=1000000"]
    cfg = compose(overrides)
    console = Console()
    console.print(f"bench: dcgan {cfg.data.image_size}px, batch {cfg.data.batch_size}, width {cfg.model.width}, "
                  f"{steps} steps x {rounds} rounds, {torch.get_num_threads()} threads")
    from ganlab.data.loader import InMemory
    from ganlab.training.build import build_dataset
    data = InMemory(build_dataset(cfg)).tensors["x"]
    G, D = instantiate(cfg.model.networks.G), instantiate(cfg.model.networks.D)
    opt_g = instantiate(cfg.schedule.optimizer.G)(G.parameters())
    opt_d = instantiate(cfg.schedule.optimizer.D)(D.parameters())
    bare_round(cfg, 2, data, G, D, opt_g, opt_d)  # warm-up: allocator, kernels
    ours, bare = [], []
    for _ in range(rounds):
        ours.append(ganlab_round(cfg, steps))
        bare.append(bare_round(cfg, steps, data, G, D, opt_g, opt_d))
    t = results_table("training throughput (images/s, best of rounds)", ("loop", "best", "all rounds"))
    t.add_row("ganlab", f"{max(ours):.1f}", ", ".join(f"{x:.1f}" for x in ours))
    t.add_row("bare PyTorch", f"{max(bare):.1f}", ", ".join(f"{x:.1f}" for x in bare))
    console.print(t)
    ratio = max(ours) / max(bare)
    console.print(f"ganlab/bare ratio: {ratio:.3f}")


def _epoch_rate(dataset, batch_size: int) -> tuple[int, float]:
    """(images, images/s) of one epoch through the training loader (Batches, no workers)."""
    from ganlab.data.loader import Batches, Position
    batches = Batches(dataset, batch_size=batch_size, seed=0, num_workers=0)
    t0 = time.perf_counter()
    n = sum(b["x"].shape[0] for b in batches.epoch(Position()))
    return n, n / (time.perf_counter() - t0)


@command.command("loader")
@click.option("--n", default=512, show_default=True, type=POSITIVE, help="images")
@click.option("--image-size", default=64, show_default=True, type=POSITIVE)
@click.option("--rounds", default=3, show_default=True, type=POSITIVE)
def loader(n: int, image_size: int, rounds: int) -> None:
    """Images/s of reading a folder of PNG files (decode + resize + crop per image) against the
    same images from an h5 cache (uint8), both through the training loader (batch 64, no workers)."""
    from ganlab.data.folders import ImageFolder
    from ganlab.data.h5cache import H5Dataset, prepare
    size = image_size
    batch = min(64, n)
    console = Console()
    console.print(f"bench loader: {n} PNG images of {size}x{size} (shapes) vs an h5 cache (uint8), "
                  f"batch {batch}, num_workers=0, best of {rounds} epochs")
    with tempfile.TemporaryDirectory() as d:
        folder = write_png_folder(Path(d) / "images", n, size)
        files = ImageFolder(root=folder, image_size=size, augment=False, in_memory=False)  # decoded per draw
        h5 = H5Dataset(path=prepare(files, Path(d) / "cache" / f"images_{size}px.h5", dtype="uint8"))
        rates = {"image files": [], "h5 cache": []}
        for _ in range(rounds):  # alternate, so both see the same machine load
            for name, ds in (("image files", files), ("h5 cache", h5)):
                rates[name].append(_epoch_rate(ds, batch)[1])
        if h5._f is not None:  # close the handle before the temp dir goes
            h5._f.close()
    t = results_table("loader throughput (images/s, best of rounds)", ("source", "images/s", "all rounds"))
    for name, r in rates.items():
        t.add_row(name, f"{max(r):.1f}", ", ".join(f"{x:.1f}" for x in r))
    console.print(t)
    console.print(f"h5/files ratio: {max(rates['h5 cache']) / max(rates['image files']):.2f}")


command.add_command(quality)
command.add_command(r3gan)
command.add_command(matrix)
command.add_command(translation)
command.add_command(small_data)
command.add_command(sdpc)
command.add_command(e2e)
command.add_command(likelihood)
