"""`ganlab bench sdpc`: is SDPC of any use to a GAN? Plain DCGAN against the two fusions
(experiment=sdpc_gan_d: D sees SDPC's sparse codes; experiment=sdpc_gan_g: G draws SDPC's top
code, decoded by its generative path) over seeds, on the same data, width, batch and steps: the
data's quality metric (FID proxy on shapes, fd_digits on digits), precision, recall, modes where
the data counts them, sdpc_gan_d's front-end reconstruction error on held-out images, and wall
time, mean ± std."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ganlab.analysis.runs import mean_and_std, mean_std
from ganlab.commands.args import names_from
from ganlab.commands.bench_quality import run_all
from ganlab.commands.console import results_table, wide_console
from ganlab.files import atomic_write_json

# method -> the overrides that make it (the rest is shared)
METHODS = {"dcgan": ["model=dcgan"], "sdpc_gan_d": ["experiment=sdpc_gan_d"], "sdpc_gan_g": ["experiment=sdpc_gan_g"]}


@click.command("sdpc")
@click.option("--seeds", default=3, show_default=True, type=click.IntRange(min=1), help="seeds 0..N-1 per method")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(min=1), help="runs in parallel")
@click.option("--methods", default=",".join(METHODS), show_default=True, metavar="M1,M2")
@click.option("--data", default="shapes", show_default=True, help="data config for every run (shapes, digits, folder)")
@click.option("--steps", default=1000, show_default=True, type=click.IntRange(min=1), help="trainer.max_steps")
@click.option("--width", default=32, show_default=True, type=click.IntRange(min=1), help="model.width of every run")
@click.option("--out", help="folder for the runs  [default: outputs/bench_sdpc/<time>]")
@click.argument("overrides", nargs=-1)
def sdpc(seeds: int, jobs: int, methods: str, data: str, steps: int, width: int, out: str | None,
         overrides: tuple[str, ...]) -> None:
    """DCGAN vs sdpc_gan_d vs sdpc_gan_g over seeds; OVERRIDES go to every run (key=value)."""
    chosen = names_from(methods, tuple(METHODS), "--methods")
    out = Path(out or f"outputs/bench_sdpc/{time.strftime('%Y-%m-%d_%H-%M-%S')}")
    console = wide_console()
    runs = [(m, f"{m}_seed{s}", s) for m in chosen for s in range(seeds)]
    shared = [f"data={data}", f"trainer.max_steps={steps}", "trainer.max_epochs=0", f"trainer.eval_every={steps}",
              f"model.width={width}", "trainer.device=cpu"]
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"bench sdpc: {len(runs)} runs ({', '.join(chosen)} x {seeds} seeds, data={data}, {steps} steps) "
                  f"-> {out}")
    t0 = time.time()
    summaries = run_all([(name, [*METHODS[m], *shared, f"seed={s}", f"hydra.run.dir={out / name}", *overrides])
                         for m, name, s in runs], out, jobs, console)
    results: dict[str, list[dict]] = {m: [] for m in chosen}
    for (m, *_), summary in zip(runs, summaries):
        if summary is not None:
            results[m].append(summary)
    rows = {m: summarize(ss) for m, ss in results.items() if ss}
    columns = [c for c in ("quality", "precision", "recall", "modes", "held-out sdpc mse", "wall s")
               if any(c in r for r in rows.values())]
    metric = next((r["quality metric"] for r in rows.values()), "?")
    table = results_table(f"SDPC x GAN on {data}: {steps} steps, width {width}, mean ± std over seeds "
                          f"({time.time() - t0:.0f} s wall in all); quality = {metric} (lower is better)",
                          ("method", *columns, "seeds"), no_wrap=True)
    digits = {"wall s": 1, "held-out sdpc mse": 6}  # decimals per column; 3 for the others
    for m, row in rows.items():
        table.add_row(m, *(mean_std(row.get(c), f".{digits.get(c, 3)}f") for c in columns),
                      str(row["seeds"]))
    console.print(table)
    atomic_write_json(out / "bench_sdpc.json", rows)
    if any(len(ss) < seeds for ss in results.values()):
        sys.exit(1)


def summarize(summaries: list[dict]) -> dict:
    """Mean and std over seeds of the final quality metric (the data's monitor: FID proxy or
    fd_digits), precision, recall, modes (where the data counts them), the SDPC front end's
    held-out reconstruction error (sdpc_gan_d) and wall time."""
    metrics = summaries[0]["metrics"]
    quality = summaries[0]["best"]["monitor"] if summaries[0].get("best") else "val/fid_random_conv"
    keys = {"quality": quality,
            "precision": next((k for k in sorted(metrics) if k.startswith("val/precision_")), None),
            "recall": next((k for k in sorted(metrics) if k.startswith("val/recall_")), None),
            "modes": "val/modes" if "val/modes" in metrics else None,
            "held-out sdpc mse": "val/sdpc_recon_mse" if "val/sdpc_recon_mse" in metrics else None}
    row: dict = {c: mean_and_std([s["metrics"].get(k, float("nan")) for s in summaries]) for c, k in keys.items() if k}
    row["wall s"] = mean_and_std([s["timings"]["wall_time_s"] for s in summaries])
    row["quality metric"] = quality
    row["metrics"] = {c: k for c, k in keys.items() if k}
    row["seeds"] = len(summaries)
    return row
