"""`ganlab bench matrix`: training speed as a matrix — model x precision x channels_last x
torch.compile — images/s after warm-up (compilation excluded), peak GPU memory, the speed-up over
the same model's eager fp32 row. Every row runs ganlab's own loop (callbacks and logger off) in
this process; `--quick` is the CPU subset."""

from __future__ import annotations

import itertools
import tempfile
import time
from pathlib import Path

import click
import torch

from ganlab.callbacks.base import Callback
from ganlab.commands.console import results_table, wide_console
from ganlab.config import compose

# DCGAN 64 px batch 64; the translation models at their paper size, batch 1
MODELS = {
    "dcgan": ["model=dcgan", "data=shapes", "data.image_size=64", "data.batch_size=64", "data.dataset.size=1024",
              "model.width=64", "model.algorithm.ema_decay=0.0"],  # not tuned/dcgan_shapes.yaml's CPU sizes
    "cyclegan": ["model=cyclegan", "data=toyzebra", "data.image_size=256", "data.batch_size=1", "data.dataset.size=64",
                 "data.test_dataset.size=4"],
    "agan": ["model=agan", "data=toyzebra", "data.image_size=256", "data.batch_size=1", "data.dataset.size=64",
             "data.test_dataset.size=4"],
}
QUICK = {"dcgan": ["model=dcgan", "data=shapes", "data.image_size=32", "data.batch_size=32", "data.dataset.size=512",
                   "model.width=32", "model.algorithm.ema_decay=0.0"]}
OFF = ["~logger", "~callbacks", "~data.evaluators", "metrics=none", "++data.in_memory=true",
       "trainer.log_every=1000000", "trainer.eval_every=0", "trainer.check_finite_every=0"]


# wall: seconds as they pass; cpu: this process's CPU seconds (all its threads), which other
# processes' load barely moves: the fair clock on a shared CPU machine (meaningless for GPU work)
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


class StepClock(Callback):
    """Times the steps after `warmup` (compilation, allocator and cuDNN autotuning excluded)."""

    def __init__(self, warmup: int, clock=time.perf_counter):  # clock: a CLOCKS value
        self.warmup, self.clock, self.t0, self.t1 = warmup, clock, None, None

    def on_step_end(self, run, metrics) -> None:
        if run.step in (self.warmup, run.total_steps):
            if run.device.type == "cuda":
                torch.cuda.synchronize(run.device)
            if run.step == self.warmup:
                self.t0 = self.clock()
            else:
                self.t1 = self.clock()


def measure(overrides: list[str], *, steps: int, warmup: int, device: str) -> dict:
    from ganlab.training.loop import train
    from ganlab.training.prepare import prepare_run
    cfg = compose([*overrides, *OFF, f"trainer.max_steps={warmup + steps}", f"trainer.device={device}"])
    with tempfile.TemporaryDirectory() as d:
        run = prepare_run(cfg, Path(d))
        clock = run.callbacks["clock"] = StepClock(warmup)
        if run.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(run.device)
        train(run)
    peak = torch.cuda.max_memory_allocated(run.device) / 2**20 if run.device.type == "cuda" else None
    return {"images_per_s": steps * cfg.data.batch_size / (clock.t1 - clock.t0), "peak_mib": peak}


@click.command("matrix")
@click.option("--quick", is_flag=True, help="the CPU subset: dcgan 32 px batch 32, fp32/bf16, eager/compiled")
@click.option("--models", default=",".join(MODELS), show_default=True, metavar="M1,M2")
@click.option("--precisions", default="32,bf16,fp16", show_default=True, metavar="P1,P2")
@click.option("--steps", default=20, show_default=True, type=click.IntRange(min=1), help="timed steps per row")
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(min=1), help="untimed steps first")
@click.option("--device", default="auto", show_default=True)
def matrix(quick: bool, models: str, precisions: str, steps: int, warmup: int, device: str) -> None:
    """Training images/s over model x precision x channels_last x compile."""
    from ganlab.training.runtime import pick_device
    on_gpu = pick_device(device).type == "cuda"
    chosen = QUICK if quick else {m: MODELS[m] for m in models.split(",") if m in MODELS}
    precs = ["32", "bf16"] if quick else precisions.split(",")
    layouts = [False, True] if on_gpu else [False]  # channels_last is a GPU layout: off on CPU
    console = wide_console()
    console.print(f"bench matrix on {torch.cuda.get_device_name() if on_gpu else 'cpu'} "
                  f"({torch.get_num_threads()} threads): {steps} timed steps after {warmup}")
    table = results_table("training throughput (images/s, after warm-up)",
                          ("model", "precision", "channels_last", "compile", "images/s", "vs eager fp32", "peak MiB"),
                          justify="right")
    for name, base in chosen.items():
        reference = None
        for prec, cl, comp in itertools.product(precs, layouts, [False, True]):
            row = measure([*base, f"trainer.precision={prec}", f"trainer.channels_last={cl}",
                           f"trainer.compile={comp}"], steps=steps, warmup=warmup, device=device)
            if prec == "32" and not cl and not comp:
                reference = row["images_per_s"]
            table.add_row(name, prec, "on" if cl else "off", "on" if comp else "off", f"{row['images_per_s']:.1f}",
                          f"{row['images_per_s'] / reference:.2f}x" if reference else "-",
                          f"{row['peak_mib']:.0f}" if row["peak_mib"] is not None else "-")
    console.print(table)
