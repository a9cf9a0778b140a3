"""`ganlab <command> [key=value ...]`. `train` is a Hydra app (overrides, -m sweeps, --cfg job);
the other commands take key=value arguments (see `ganlab --help`)."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

CONF_DIR = Path(__file__).resolve().parent / "conf"
err = Console(stderr=True, soft_wrap=True)  # long paths stay on one line

USAGE = """usage: ganlab <command> [args]

  train [overrides]        train a run (Hydra: model=, loss=, data=, schedule=, experiment=, -m for sweeps,
                           --cfg job to print the composed config, resume=<run dir|checkpoint>)
  sample ckpt=PATH [n=64] [out=samples.png] [seed=0] [device=auto]
                           images (or a 2D scatter) from a checkpoint alone
  translate ckpt=PATH input=DIR out=DIR [direction=AtoB|BtoA] [device=auto]
                           a folder of images through a translation checkpoint (+ masks for agan)
  data download <name> [root=DIR]    fetch and check a public dataset (horse2zebra)
  data prepare data=<name> [dtype=uint8|float16] [overrides]
                           write a dataset once into an h5 cache (train with data.cache=h5)
  eval ckpt=PATH [metrics=[fid,kid]] [weights_path=PATH] [feature=inception|random_conv] [n=5000]
                           metrics of a checkpoint -> eval.json beside it (also modes / masks by name)
  bench [ARGS]             training throughput of ganlab's loop vs a bare PyTorch loop
  report RUN_DIR [out=RUN_DIR/report.html]
                           a self-contained HTML report of a run: config, events, curves, samples
  compare PATHS... [--sort KEY[:asc|:desc]] [--csv PATH] [--metrics m1,m2]
                           a table of runs (dirs, parents of runs, globs), grouped over seeds
"""


class UsageError(Exception):
    pass


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        sys.exit(0 if argv else 2)
    command, args = argv[0], argv[1:]
    commands = {"train": _train, "sample": _sample, "translate": _translate, "eval": _eval, "data": _data, "bench": _bench,
                "report": _report, "compare": _compare}
    if command not in commands:
        err.print(f"[red]error:[/] unknown command {command!r}\n")
        print(USAGE)
        sys.exit(2)
    try:
        commands[command](args)
    except UsageError as e:
        err.print(f"[red]error:[/] {e}")
        sys.exit(2)


def _train(args: list[str]) -> None:
    from ganlab.train_app import run_hydra
    run_hydra(args)


def _sample(args: list[str]) -> None:
    from ganlab.sampling import sample_command
    sample_command(args)


def _translate(args: list[str]) -> None:
    from ganlab.translating import translate_command
    translate_command(args)


def _eval(args: list[str]) -> None:
    from ganlab.evaluating import eval_command
    eval_command(args)


def _data(args: list[str]) -> None:
    from ganlab.data_commands import data_command
    data_command(args)


def _bench(args: list[str]) -> None:
    from ganlab.bench import bench_command
    bench_command(args)


def _report(args: list[str]) -> None:
    from ganlab.analysis.report import report_command
    report_command(args)


def _compare(args: list[str]) -> None:
    from ganlab.analysis.compare import compare_command
    compare_command(args)


def parse_kv(args: list[str], *, required: tuple[str, ...] = (), allowed: tuple[str, ...] = ()) -> dict:
    """key=value arguments of the non-Hydra commands, with errors that name the key."""
    out = {}
    for a in args:
        if "=" not in a:
            raise UsageError(f"expected key=value, got {a!r}")
        k, v = a.split("=", 1)
        if allowed and k not in allowed:
            raise UsageError(f"unknown argument {k!r}; expected one of: {', '.join(allowed)}")
        out[k] = v
    missing = [k for k in required if k not in out]
    if missing:
        raise UsageError(f"missing argument(s): {', '.join(f'{k}=...' for k in missing)}")
    return out


if __name__ == "__main__":
    main()
