"""`ganlab <command> ...`: only dispatches. Every command is a Click command in ganlab.commands,
imported when it runs; bad usage prints one line and exits 2, a ganlab error its own code."""

from __future__ import annotations

import difflib
import importlib
import sys

from ganlab import signals
from ganlab.commands import COMMANDS


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["train"], ["resume"]):
        signals.install()  # before anything slow: a SIGTERM during start-up is never lost
    import click

    from ganlab.commands.console import fail
    from ganlab.errors import GanlabError
    try:
        code = _group().main(argv, prog_name="ganlab", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:
        print(e.format_message())
        sys.exit(2)
    except click.ClickException as e:
        where = e.ctx.command_path if getattr(e, "ctx", None) else "ganlab"
        fail(f"{where}: {e.format_message()} (see `{where} --help`)", e.exit_code)
    except click.Abort:
        sys.exit(130)
    except GanlabError as e:
        fail(str(e), e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _group():
    import click

    class Commands(click.Group):
        """The command table, read without importing the commands (fast --help and completion)."""

        def list_commands(self, ctx):
            return list(COMMANDS)

        def get_command(self, ctx, name):
            return importlib.import_module(f"ganlab.commands.{COMMANDS[name][0]}").command if name in COMMANDS else None

        def format_commands(self, ctx, formatter):
            with formatter.section("Commands"):
                formatter.write_dl([(name, what) for name, (_, what) in COMMANDS.items()])

        def resolve_command(self, ctx, args):
            if args and args[0] not in COMMANDS and not args[0].startswith("-"):
                close = difflib.get_close_matches(args[0], list(COMMANDS), n=1)
                ctx.fail(f"unknown command {args[0]!r}" + (f": did you mean `ganlab {close[0]}`?" if close else ""))
            return super().resolve_command(ctx, args)

        def shell_complete(self, ctx, incomplete):
            from click.shell_completion import CompletionItem
            return [CompletionItem(n, help=what) for n, (_, what) in COMMANDS.items() if n.startswith(incomplete)] \
                + click.Command.shell_complete(self, ctx, incomplete)

    group = Commands("ganlab", no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]},
                     help="GAN research lab: config-driven training, sampling, metrics and comparisons.")
    return click.version_option(package_name="ganlab", prog_name="ganlab", message="%(prog)s %(version)s")(group)


if __name__ == "__main__":
    main()
