"""`ganlab <command> [key=value ...]`. `train` is a Hydra app (overrides, -m sweeps, --cfg job);
the other commands take key=value arguments (see `ganlab --help`)."""

from __future__ import annotations

import sys

from ganlab import signals
from ganlab.commands import HELP, USAGE
from ganlab.errors import GanlabError


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        signals.install()  # before anything slow: a SIGTERM during start-up is never lost
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        sys.exit(0 if argv else 2)
    if argv[0] == "--version":
        from ganlab import __version__
        print(f"ganlab {__version__}")
        return
    command, args = argv[0], argv[1:]
    commands = {"train": _train, "sample": _sample, "translate": _translate, "eval": _eval, "data": _data,
                "bench": _bench, "report": _report, "compare": _compare}
    from rich.console import Console  # after the signal handler: nothing slow comes before it

    err = Console(stderr=True, soft_wrap=True)  # long paths stay on one line
    if command not in commands:
        import difflib
        close = difflib.get_close_matches(command, list(commands), n=1)
        err.print(f"[red]error:[/] unknown command {command!r}" + (f": did you mean `ganlab {close[0]}`?" if close else ""))
        print(USAGE)
        sys.exit(2)
    if command not in ("train", "compare") and {"-h", "--help"} & set(args):  # train: Hydra's help
        sub = f"{command} {args[0]}" if args and f"{command} {args[0]}" in HELP else command
        _help(sub)
        return
    try:
        commands[command](args)
    except GanlabError as e:
        err.print(f"[red]error:[/] {e}", highlight=False)
        sys.exit(e.exit_code)


def _help(command: str) -> None:
    subs = [k for k in HELP if k == command or k.startswith(f"{command} ")]
    print("\n".join(f"usage: ganlab {HELP[k][0]}\n  {HELP[k][1]}" for k in subs))


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
