"""`ganlab <command> [key=value ...]`. `train` is a Hydra app (overrides, -m sweeps, --cfg job);
the other commands take key=value arguments (see `ganlab --help`)."""

from __future__ import annotations

import sys

from ganlab import signals
from ganlab.errors import GanlabError

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


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        signals.install()  # before anything slow: a SIGTERM during start-up is never lost
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        sys.exit(0 if argv else 2)
    command, args = argv[0], argv[1:]
    commands = {"train": _train, "sample": _sample, "translate": _translate, "eval": _eval, "data": _data, "bench": _bench,
                "report": _report, "compare": _compare}
    from rich.console import Console  # after the signal handler: nothing slow comes before it

    err = Console(stderr=True, soft_wrap=True)  # long paths stay on one line
    if command not in commands:
        err.print(f"[red]error:[/] unknown command {command!r}\n")
        print(USAGE)
        sys.exit(2)
    try:
        commands[command](args)
    except GanlabError as e:
        err.print(f"[red]error:[/] {e}", highlight=False)
        sys.exit(e.exit_code)


def _train(args: list[str]) -> None:
    from ganlab.commands.train import main
    main(args)


def _sample(args: list[str]) -> None:
    from ganlab.commands.sample import sample_command
    sample_command(args)


def _translate(args: list[str]) -> None:
    from ganlab.commands.translate import translate_command
    translate_command(args)


def _eval(args: list[str]) -> None:
    from ganlab.commands.evaluate import eval_command
    eval_command(args)


def _data(args: list[str]) -> None:
    from ganlab.commands.data import data_command
    data_command(args)


def _bench(args: list[str]) -> None:
    from ganlab.commands.bench import bench_command
    bench_command(args)


def _report(args: list[str]) -> None:
    from ganlab.commands.report import report_command
    report_command(args)


def _compare(args: list[str]) -> None:
    from ganlab.commands.compare import compare_command
    compare_command(args)


if __name__ == "__main__":
    main()
