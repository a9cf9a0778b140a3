"""`ganlab bench small-data`: does augmentation keep D from overfitting a small dataset? DCGAN
on 500 `shapes` images (experiment=small_data) with augment=none, diffaug, ada over seeds, at
equal steps: the FID proxy, precision, recall, density, coverage and D's held-out gap (its mean
output on training images minus on held-out real ones), mean ± std."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from ganlab.analysis.runs import mean_and_std, mean_std
from ganlab.commands.args import names_from
from ganlab.commands.bench_quality import run_all
from ganlab.commands.console import results_table, wide_console
from ganlab.files import atomic_write_json

AUGMENTS = ("none", "diffaug", "ada")
# column -> (metric in summary.json, decimals); "lower is better" for fid and the gap
COLUMNS = {
    "FID proxy": ("val/fid_random_conv", 3),
    "precision": ("val/precision_random_conv", 3),
    "recall": ("val/recall_random_conv", 3),
    "density": ("val/density_random_conv", 3),
    "coverage": ("val/coverage_random_conv", 3),
    "D train": ("val/d_real_train", 3),
    "D held-out": ("val/d_real_heldout", 3),
    "D gap": ("val/d_overfit_gap", 3),
}
PRINTED = [c for c in COLUMNS if c not in ("D train", "D held-out")]  # those two: in the JSON


@click.command("small-data")
@click.option("--seeds", default=3, show_default=True, type=click.IntRange(min=1), help="seeds 0..N-1 per choice")
@click.option("--jobs", default=os.cpu_count() or 1, show_default="cores", type=click.IntRange(min=1),
              help="runs in parallel")
@click.option("--augment", "augments", default=",".join(AUGMENTS), show_default=True, metavar="A1,A2",
              help="augment choices to compare")
# shapes' classes are their colours: colour jitter turns them grey in G's samples (measured: docs/BENCHMARKS.md)
@click.option("--policy", default="translation,cutout", show_default=True, metavar="OP1,OP2",
              help="augment.policy of the diffaug and ada runs, from color,translation,cutout")
@click.option("--steps", type=click.IntRange(min=1), help="trainer.max_steps  [default: the preset's]")
@click.option("--out", help="folder for the runs  [default: outputs/bench_small_data/<time>]")
@click.argument("overrides", nargs=-1)
def small_data(seeds: int, jobs: int, augments: str, policy: str, steps: int | None, out: str | None,
               overrides: tuple[str, ...]) -> None:
    """augment=none|diffaug|ada on 500 images over seeds; OVERRIDES go to every run (key=value)."""
    from ganlab.algorithms.augment import OPS
    chosen = names_from(augments, AUGMENTS, "--augment")
    ops = names_from(policy, tuple(OPS), "--policy")
    out = Path(out or f"outputs/bench_small_data/{time.strftime('%Y-%m-%d_%H-%M-%S')}")
    console = wide_console()
    runs = []
    for a in chosen:
        for s in range(seeds):
            run_dir = out / f"{a}_seed{s}"
            extra = [f"trainer.max_steps={steps}"] if steps else []
            if a != "none":
                extra.append(f"augment.policy=[{','.join(ops)}]")
            runs.append((a, s, run_dir, ["experiment=small_data", f"augment={a}", f"seed={s}", "trainer.device=cpu",
                                         f"hydra.run.dir={run_dir}", *extra, *overrides]))
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"bench small-data: {len(runs)} runs ({', '.join(chosen)} x {seeds} seeds) -> {out}")
    t0 = time.time()
    summaries = run_all([(run_dir.name, args) for _, _, run_dir, args in runs], out, jobs, console)
    results: dict[str, list[dict]] = {a: [] for a in chosen}
    for (a, *_), summary in zip(runs, summaries):
        if summary is not None:
            results[a].append(summary)
    rows = {a: summarize(ss) for a, ss in results.items() if ss}
    step = next((ss[0]["step"] for ss in results.values() if ss), 0)
    table = results_table(f"small data: DCGAN, 500 shapes images, {step} steps, policy {'+'.join(ops)}, mean ± std over seeds "
                          f"({time.time() - t0:.0f} s wall)", ("augment", *PRINTED, "d_overfit", "seeds"), no_wrap=True)
    for a, row in rows.items():
        table.add_row(a, *(mean_std(row[c], f".{COLUMNS[c][1]}f") for c in PRINTED),
                      str(row["d_overfit events"]), str(row["seeds"]))
    console.print(table)
    atomic_write_json(out / "bench_small_data.json", rows)
    if any(len(ss) < seeds for ss in results.values()):
        sys.exit(1)


def summarize(summaries: list[dict]) -> dict:
    """Mean and std over seeds of each column's final value, and the d_overfit events raised."""
    row = {c: mean_and_std([s["metrics"].get(key, float("nan")) for s in summaries]) for c, (key, _) in COLUMNS.items()}
    row["d_overfit events"] = sum(e["kind"] == "d_overfit" for s in summaries for e in s["events"])
    row["seeds"] = len(summaries)
    return row
