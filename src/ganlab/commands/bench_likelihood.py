"""`ganlab bench likelihood`: the notes' "log p(x) vs sample quality" claim as a measured table.
DCGAN, VAE, flow matching and DDPM on the same data (16 px, batch 32) over seeds, each scored at
the end by the data's FID evaluator (FID proxy on shapes, the digits classifier's FD on digits),
its precision/recall, and metrics=nll's bits/dim on held-out images (each family's own estimator;
the GAN has none: "-")."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import click

from ganlab.analysis.runs import mean_and_std, mean_std
from ganlab.commands.args import names_from
from ganlab.commands.bench_quality import run_all
from ganlab.commands.console import results_table, wide_console
from ganlab.files import atomic_write_json

# data -> (its FID evaluator, the metric suffix, the evaluators dropped: too costly for a sampler
# of 50-100 network evaluations, and not in the table)
DATA = {
    "shapes": ("fid_proxy", "_random_conv", ["sampling_cost"]),
    "digits": ("fd_digits", "_digits", ["sampling_cost", "modes"]),
}
# shapes has no held-out split: 512 images of another seed of the same generator
SHAPES_HELDOUT = ("data.test_dataset={_target_:ganlab.data.synthetic.Shapes,size:512,"
                  "image_size:${data.image_size},channels:${data.channels},seed:1}")
# default steps: about the same training CPU time per family, so no family wins by compute alone
# (the per-step costs: docs/BENCHMARKS.md, "Likelihood beside FID")
STEPS = {"dcgan": 1200, "vae": 1200, "flow": 400, "ddpm": 400}
METHODS = tuple(STEPS)


def estimator(method: str, k: int, ode_steps: int, t_samples: int) -> str:
    """The bits/dim column's estimator, short (summary.json's protocols.nll has the full text)."""
    return {"dcgan": "none", "vae": f"IWAE k={k}",
            "flow": f"ODE+Hutchinson {ode_steps} st", "ddpm": f"VLB {t_samples} t"}[method]


def parse_steps(text: str | None) -> dict[str, int]:
    """`--steps 800` (every method) or `--steps dcgan=1500,flow=500` (the rest keep STEPS)."""
    steps = dict(STEPS)
    if not text:
        return steps
    try:
        if "=" not in text:
            if int(text) < 1:
                raise ValueError
            return {m: int(text) for m in steps}
        for part in text.split(","):
            m, _, n = part.partition("=")
            if m.strip() not in steps or int(n) < 1:
                raise ValueError
            steps[m.strip()] = int(n)
    except (ValueError, KeyError):
        raise click.BadParameter(f"{text!r}: give N or M=N,... with M in {','.join(STEPS)} and N >= 1",
                                 param_hint="--steps") from None
    return steps


@click.command("likelihood")
@click.option("--seeds", default=3, show_default=True, type=click.IntRange(min=1), help="seeds 0..N-1 per method")
@click.option("--data", "names", default="shapes", show_default=True, metavar="D1,D2", help="shapes, digits")
@click.option("--methods", default=",".join(METHODS), show_default=True, metavar="M1,M2")
@click.option("--steps", "steps_text", metavar="N|M=N,...",
              help=f"trainer.max_steps  [default: {','.join(f'{m}={n}' for m, n in STEPS.items())}]")
@click.option("--fid-samples", default=500, show_default=True, type=click.IntRange(min=10),
              help="generated (and real) images of the FID evaluator")
@click.option("--nll-samples", default=256, show_default=True, type=click.IntRange(min=1),
              help="held-out images of metrics=nll")
@click.option("--k", default=64, show_default=True, type=click.IntRange(min=1), help="VAE: IWAE samples")
@click.option("--ode-steps", default=20, show_default=True, type=click.IntRange(min=1), help="flow: ODE steps")
@click.option("--t-samples", default=100, show_default=True, type=click.IntRange(min=1),
              help="DDPM: timesteps per image in the bound")
@click.option("--out", help="folder for the runs  [default: outputs/bench_likelihood/<time>]")
@click.argument("overrides", nargs=-1)
def likelihood(seeds: int, names: str, methods: str, steps_text: str | None, fid_samples: int, nll_samples: int,
               k: int, ode_steps: int, t_samples: int, out: str | None, overrides: tuple[str, ...]) -> None:
    """FID, precision/recall and bits/dim of DCGAN, VAE, flow and DDPM over seeds, one run at a
    time (OMP_NUM_THREADS=1); OVERRIDES go to every run (key=value)."""
    datasets, chosen = names_from(names, DATA, "--data"), names_from(methods, METHODS, "--methods")
    steps = parse_steps(steps_text)
    out = Path(out or f"outputs/bench_likelihood/{time.strftime('%Y-%m-%d_%H-%M-%S')}")
    console = wide_console()
    runs = []
    for d in datasets:
        fid, _, dropped = DATA[d]
        for s in range(seeds):  # seed-major: an interrupted bench still has whole seeds of every method
            for m in chosen:
                name = f"{d}_{m}_seed{s}"
                drop = [f"~data.evaluators.{e}" for e in dropped if not (m == "dcgan" and e == "sampling_cost")]
                args = [f"model={m}", f"data={d}", "data.image_size=16", "data.batch_size=32", "metrics=nll",
                        f"trainer.max_steps={steps[m]}", f"trainer.eval_every={steps[m]}", f"seed={s}",
                        "trainer.device=cpu", f"data.evaluators.{fid}.n_samples={fid_samples}",
                        f"data.evaluators.{fid}.kid_subset_size={min(fid_samples, 250)}",
                        f"metrics.nll.n_samples={nll_samples}", f"metrics.nll.k={k}",
                        f"metrics.nll.ode_steps={ode_steps}", f"metrics.nll.t_samples={t_samples}", *drop,
                        *([SHAPES_HELDOUT] if d == "shapes" else []), f"hydra.run.dir={out / name}",
                        *overrides]
                runs.append((d, m, name, args))
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"bench likelihood: {len(runs)} runs ({', '.join(datasets)} x {', '.join(chosen)} x {seeds} "
                  f"seeds), one at a time -> {out}")
    t0 = time.time()
    # one at a time: the numbers are CPU-time comparable
    summaries = run_all([(name, args) for *_, name, args in runs], out, 1, console)
    results: dict[tuple[str, str], list[dict]] = {(d, m): [] for d in datasets for m in chosen}
    for (d, m, *_), summary in zip(runs, summaries):
        if summary is not None:
            results[d, m].append(summary)
    table = results_table(f"log p(x) vs sample quality: 16 px, batch 32, mean ± std over seeds "
                          f"({time.time() - t0:.0f} s wall)", ("data", "method", "steps", "FID", "precision",
                                                               "recall", "bits/dim", "estimator", "seeds"), no_wrap=True)
    rows: dict[str, dict] = {}
    for d in datasets:
        for m in chosen:
            if results[d, m]:
                row = rows.setdefault(d, {})[m] = summarize(results[d, m], DATA[d][1])
                row["estimator"] = estimator(m, k, ode_steps, t_samples)
                table.add_row(d, m, str(steps[m]), *(mean_std(row[c], ".3f") for c in ("fid", "precision", "recall", "bpd")),
                              row["estimator"], str(row["seeds"]))
    console.print(table)
    atomic_write_json(out / "bench_likelihood.json", rows)
    if any(len(ss) < seeds for ss in results.values()):
        sys.exit(1)


def summarize(summaries: list[dict], suffix: str) -> dict:
    """Mean and std over seeds of the FID, precision, recall and bits/dim (None: no likelihood)."""
    ms = [s["metrics"] for s in summaries]
    fid_key = next(k for k in ms[0] if k.startswith(("val/fid", "val/fd")) and k.endswith(suffix))
    row = {"fid_metric": fid_key, "seeds": len(ms), "nll_protocol": summaries[0]["protocols"].get("nll")}
    for col, key in (("fid", fid_key), ("precision", f"val/precision{suffix}"), ("recall", f"val/recall{suffix}")):
        row[col] = mean_and_std([m.get(key, math.nan) for m in ms])
    row["bpd"] = mean_and_std([m["val/nll_bpd"] for m in ms]) if all("val/nll_bpd" in m for m in ms) else None
    return row
