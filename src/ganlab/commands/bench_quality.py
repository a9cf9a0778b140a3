"""`ganlab bench quality`: the 2D mode-collapse benchmark. ganlab's 2D GAN presets and the
flow-matching and DDPM baselines (their shipped defaults) on ring8 and grid25 over several seeds
(PacGAN / VEEGAN protocol: 2500 samples, high quality within 3 std), reported as mean ± std
next to published rows."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from ganlab.analysis.runs import mean_and_std, mean_std
from ganlab.commands.args import names_from
from ganlab.commands.console import results_table, wide_console
from ganlab.files import atomic_write_json

# PacGAN (Lin et al., NeurIPS 2018) Table 1: modes captured / % high-quality samples
PUBLISHED = {
    "ring8": [("GAN (PacGAN Table 1)", 6.3, 98.2), ("PacGAN4 (PacGAN Table 1)", 7.8, 95.9)],
    "grid25": [("GAN (PacGAN Table 1)", 17.3, 94.8), ("PacGAN4 (PacGAN Table 1)", 24.8, 93.6),
               ("GDPP (CVPR 2019)", 24.8, 68.5)],
}
PRESETS = {"ring8": "mode_bench_ring8", "grid25": "mode_bench_grid25"}
# method -> (row label, the overrides of its run on data d): each with its shipped defaults
METHODS = {
    "gan": (lambda d: f"ganlab {PRESETS[d]}", lambda d: [f"experiment={PRESETS[d]}"]),
    "flow": (lambda d: "ganlab model=flow (flow matching)", lambda d: ["model=flow", f"data={d}"]),
    "ddpm": (lambda d: "ganlab model=ddpm (v-prediction, DDIM 50 steps)", lambda d: ["model=ddpm", f"data={d}"]),
}


def _train(args: list[str], log: Path) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    ganlab = str(Path(sys.executable).parent / "ganlab")
    with open(log, "w") as f:
        return subprocess.run([ganlab, "train", *args], stdout=f, stderr=subprocess.STDOUT, env=env).returncode


@click.command("quality")
@click.option("--seeds", default=5, show_default=True, type=click.IntRange(min=1), help="seeds 0..N-1 per dataset")
@click.option("--jobs", default=os.cpu_count() or 1, show_default="cores", type=click.IntRange(min=1),
              help="runs in parallel")
@click.option("--data", "names", default="ring8,grid25", show_default=True, metavar="D1,D2")
@click.option("--methods", default="gan,flow,ddpm", show_default=True, metavar="M1,M2",
              help=f"which of {','.join(METHODS)} to run")
@click.option("--steps", type=click.IntRange(min=1), help="trainer.max_steps  [default: the preset's]")
@click.option("--out", help="folder for the runs  [default: outputs/bench_quality/<time>]")
def quality(seeds: int, jobs: int, names: str, methods: str, steps: int | None, out: str | None) -> None:
    """The 2D mode-collapse benchmark over seeds, next to published rows."""
    seeds = range(seeds)
    datasets, chosen = names_from(names, PRESETS, "--data"), names_from(methods, METHODS, "--methods")
    out = Path(out or f"outputs/bench_quality/{time.strftime('%Y-%m-%d_%H-%M-%S')}")
    console = wide_console()
    runs = []
    for d in datasets:
        for m in chosen:
            for s in seeds:
                name = f"{d}_seed{s}" if m == "gan" else f"{d}_{m}_seed{s}"  # the GAN rows keep their old names
                extra = [f"trainer.max_steps={steps}"] if steps else []
                runs.append((d, m, s, name, [*METHODS[m][1](d), f"seed={s}", "trainer.device=cpu",
                                             f"hydra.run.dir={out / name}", *extra]))
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"bench quality: {len(runs)} runs ({', '.join(datasets)} x {', '.join(chosen)} x {len(seeds)} "
                  f"seeds) -> {out}")
    t0 = time.time()
    summaries = run_all([(name, args) for *_, name, args in runs], out, jobs, console)
    results: dict[tuple[str, str], list[dict]] = {(d, m): [] for d in datasets for m in chosen}
    for (d, m, *_), s in zip(runs, summaries):
        if s is not None:
            results[d, m].append(s["metrics"])
    table = results_table(f"2D mode collapse ({time.time() - t0:.0f} s wall, 2500 samples, HQ = within 3 std)",
                          ("data", "method", "modes", "high quality %", "reverse KL", "seeds"))
    rows: dict[str, dict] = {}
    for d in datasets:
        for m in chosen:
            ms = results[d, m]
            if ms:
                rows.setdefault(d, {})[m] = summarize(ms)
                table.add_row(d, METHODS[m][0](d), *(mean_std(rows[d][m][k], f".{nd}f") for k, nd in
                                                     (("modes", 1), ("hq", 1), ("reverse_kl", 3))), str(len(ms)))
        for name, mo, h in PUBLISHED[d]:
            table.add_row(d, name, f"{mo}", f"{h}", "", "")
    console.print(table)
    atomic_write_json(out / "bench_quality.json", rows)
    if any(len(ms) < len(seeds) for ms in results.values()):
        sys.exit(1)


def run_all(runs: list[tuple[str, list[str]]], out: Path, jobs: int, console) -> list[dict | None]:
    """`ganlab train` each (name, overrides) into out/<name> (its output in out/<name>.log), `jobs`
    at a time (1: the runs' times are comparable); the summary.json of each, None for one that
    failed. A line as each ends: done with the bench's time so far, or failed naming its log."""
    t0 = time.time()

    def one(name: str, args: list[str]) -> dict | None:
        summary = out / name / "summary.json"
        if _train(args, out / f"{name}.log") != 0 or not summary.is_file():
            console.print(f"[red]{name} failed[/] (see {out / f'{name}.log'})")
            return None
        console.print(f"  {name}: done ({time.time() - t0:.0f} s)")
        return json.loads(summary.read_text())

    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda r: one(*r), runs))


def summarize(metrics: list[dict]) -> dict:
    """Mean and std over seeds of modes, HQ % and reverse KL. A run that captured no mode has no
    finite reverse KL (summary.json drops NaN): it counts as NaN, and the mean says so."""
    modes = [m["val/modes"] for m in metrics]
    hq = [100 * m.get("val/hq", 0.0) for m in metrics]
    rkl = [m.get("val/reverse_kl", math.nan) for m in metrics]
    return {"modes": mean_and_std(modes), "hq": mean_and_std(hq), "reverse_kl": mean_and_std(rkl), "seeds": len(metrics)}
