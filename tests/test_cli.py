"""The command line: --help on every command and subcommand, --version, a suggestion for a
mistyped command."""

import pytest

from conftest import run_ganlab
from ganlab import __version__
from ganlab.cli import main
from ganlab.commands import HELP


@pytest.mark.parametrize("command", sorted(HELP))
def test_every_command_and_subcommand_has_help(command, capsys):
    if command == "train":  # Hydra's own help: the config groups and their options
        return
    try:
        main([*command.split(), "--help"])
    except SystemExit as e:  # compare's argparse exits 0 after its help
        assert e.code == 0
    out = capsys.readouterr().out
    assert f"ganlab {command}" in out or command == "compare" and "usage: ganlab compare" in out
    assert "[" in HELP[command][0]  # optional arguments are shown with their defaults


def test_top_level_help_lists_every_command_and_the_version_flag(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert all(HELP[c][0] in out for c in HELP) and "--version" in out


def test_train_help_lists_the_config_groups(tmp_path):
    out = run_ganlab("train", "--help", cwd=tmp_path).stdout
    assert "model: agan, cgan, cyclegan, dcgan, mlp" in out and "experiment:" in out


def test_version_and_a_mistyped_command(tmp_path, capsys):
    main(["--version"])
    assert capsys.readouterr().out.strip() == f"ganlab {__version__}"
    p = run_ganlab("trian", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "did you mean `ganlab train`?" in p.stderr
