"""The command line: one Click tree; --help on every command and subcommand (each option with its
default), --version, a suggestion for a mistyped command, shell completion through the generated
script."""

import shutil
import subprocess
from pathlib import Path

import click
import pytest

from conftest import GANLAB, run_ganlab
from ganlab import __version__
from ganlab.cli import _group, main
from ganlab.commands import COMMANDS


def _walk(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), (*path, name))


TREE = [(path, cmd) for path, cmd in _walk(_group()) if path]


@pytest.mark.parametrize("path,cmd", TREE, ids=[" ".join(p) for p, _ in TREE])
def test_every_command_and_subcommand_has_help_with_defaults(path, cmd, capsys):
    if path == ("train",):  # Hydra's own help: the config groups and their options
        return
    with pytest.raises(SystemExit) as e:
        main([*path, "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # Click wraps long lines
    assert f"Usage: ganlab {' '.join(path)}" in out
    for p in cmd.params:
        if isinstance(p, click.Option) and p.name != "help":
            assert p.opts[0] in out, (path, p.opts)
            if p.default is not None and not p.is_flag:
                assert "[default:" in out, (path, p.opts)


def test_the_tree_is_the_table():
    assert [p[0] for p, _ in TREE if len(p) == 1] == list(COMMANDS)
    from ganlab.commands.data import DOWNLOADABLE
    from ganlab.data.download import DATASETS
    assert tuple(DATASETS) == DOWNLOADABLE


def test_top_level_help_lists_every_command_and_the_version_flag(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert all(f"  {name} " in out for name in COMMANDS) and "--version" in out


def test_train_help_lists_the_config_groups(tmp_path):
    out = run_ganlab("train", "--help", cwd=tmp_path).stdout
    assert "model: agan, biggan, cgan, cyclegan, dcgan, ddpm, flow, mlp, sdpc, vae" in out and "experiment:" in out


def test_version_a_mistyped_command_and_bad_usage(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"ganlab {__version__}"
    p = run_ganlab("trian", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "did you mean `ganlab train`?" in p.stderr
    p = run_ganlab("sample", "--n", "3", cwd=tmp_path, check=False)  # one line, naming what is missing
    assert p.returncode == 2 and "Missing argument 'RUN_DIR|CKPT'" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = run_ganlab("train", "-sc", "install=bash", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "ganlab completion bash" in p.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("line,expected", [
    ("ganlab tr", {"train", "translate"}),
    ("ganlab train mod", {"model=", "model/denoiser=", "model/discriminator=", "model/noise_schedule="}),
    ("ganlab train model =", {"agan", "biggan", "cgan", "cyclegan", "dcgan", "ddpm", "flow", "mlp", "sdpc", "vae"}),  # bash splits words at '='
    ("ganlab train loss = wg", {"wgan", "wgan_gp"}),
    ("ganlab train trainer.max_s", {"trainer.max_steps="}),
    ("ganlab res", {"resume"}),
    ("ganlab resume outputs/run trainer.max_s", {"trainer.max_steps="}),  # RUN, then train's overrides
    ("ganlab bench ", {"loader", "quality", "r3gan", "sdpc", "likelihood", "matrix", "translation", "small-data", "e2e"}),
    ("ganlab sample --s", {"--seed", "--steps"}),
])
def test_the_generated_bash_script_completes(line, expected, tmp_path):
    script = run_ganlab("completion", "bash", cwd=tmp_path).stdout
    assert "_GANLAB_COMPLETE" in script
    (tmp_path / "complete.sh").write_text(script)
    probe = (f'source complete.sh; COMP_WORDS=({line}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n'
             f'[[ "{line}" == *" " ]] && COMP_CWORD=${{#COMP_WORDS[@]}}\n'
             '_ganlab_completion ganlab; printf "%s\\n" "${COMPREPLY[@]}"')
    env = {"PATH": f"{Path(GANLAB).parent}:/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(["bash", "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert set(out.stdout.split()) == expected, out.stderr


def test_bench_quality_summarizes_a_run_that_captured_no_mode():
    import math

    from ganlab.commands.bench_quality import summarize
    rows = summarize([{"val/modes": 8, "val/hq": 0.9, "val/reverse_kl": 0.01}, {"val/modes": 0, "val/hq": 0.0}])
    assert rows["modes"][0] == 4 and rows["seeds"] == 2 and math.isnan(rows["reverse_kl"][0])


def test_readme_names_every_command_config_group_and_preset():
    """The README is where a new user looks: every `ganlab` subcommand (nested ones too), every
    config group under conf/ and every experiment preset appears in it."""
    from ganlab.config import CONF_DIR
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    ctx = click.Context(_group())

    def paths(group, prefix):
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if isinstance(cmd, click.Group):
                yield from paths(cmd, f"{prefix} {name}")
            else:
                yield f"{prefix} {name}"

    commands = list(paths(_group(), "ganlab"))
    assert "ganlab bench loader" in commands and "ganlab data prepare" in commands
    missing = [c for c in commands if c not in readme]
    groups = sorted({str(f.parent.relative_to(CONF_DIR)) for f in CONF_DIR.rglob("*.yaml") if f.parent != CONF_DIR})
    missing += [g for g in groups if not g.startswith("hydra") and f"`{g}`" not in readme]
    missing += [f"experiment={p.stem}" for p in (CONF_DIR / "experiment").glob("*.yaml")
                if f"experiment={p.stem}" not in readme]
    assert not missing, f"not in README.md: {missing}"
