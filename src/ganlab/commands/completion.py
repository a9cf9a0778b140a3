"""`ganlab completion SHELL`: the shell completion script (Click's), which completes the commands,
their options, and `train`'s Hydra overrides: config groups and their options, config keys."""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem, get_completion_class

from ganlab.config import CONF_DIR, override_key


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def command(ctx: click.Context, shell: str) -> None:
    """Print the completion script: add `eval "$(ganlab completion bash)"` to ~/.bashrc (zsh: the
    same in ~/.zshrc; fish: `ganlab completion fish | source`)."""
    root = ctx.find_root()
    script = get_completion_class(shell)(root.command, {}, root.info_name, "_GANLAB_COMPLETE").source()
    click.echo(script)


def groups() -> dict[str, list[str]]:
    """Config group -> its options, read from the config folder (`model/discriminator` included)."""
    found = {}
    for d in sorted(p for p in CONF_DIR.rglob("*") if p.is_dir()):
        options = sorted(f.stem for f in d.glob("*.yaml"))
        if options:
            found[d.relative_to(CONF_DIR).as_posix()] = options
    return found


def config_keys() -> list[str]:
    """Every leaf key of the default config (`trainer.max_steps`, ...)."""
    from omegaconf import OmegaConf

    from ganlab.config import compose

    def leaves(node, prefix):
        for k, v in node.items():
            yield from leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    return list(leaves(OmegaConf.to_container(compose([])), ""))


def complete_override(ctx: click.Context, param, incomplete: str) -> list[CompletionItem]:
    """`model=` -> `model=dcgan`...; `trainer.ma` -> `trainer.max_steps=`. Bash splits words at `=`
    (`model = dc`): then only the option is completed, which is what bash replaces."""
    done = list(ctx.params.get(param.name) or ())
    options = groups()
    if not incomplete and done and done[-1] in options:  # bash: `model =` (Click drops the lone `=`)
        return [CompletionItem(o) for o in options[override_key(done[-1])]]
    if len(done) >= 2 and done[-1] == "=" and done[-2] in options:  # bash: `model = dc`
        return [CompletionItem(o) for o in options[override_key(done[-2])] if o.startswith(incomplete)]
    if "=" in incomplete:  # zsh, fish: the whole `model=dc`
        key, start = incomplete.split("=", 1)
        return [CompletionItem(f"{key}={o}") for o in options.get(override_key(key), []) if o.startswith(start)]
    names = [f"{g}=" for g in options if g != "tuned"] + ["resume=", "-m", "--cfg", "--help"]
    if "." in incomplete or not any(n.startswith(incomplete) for n in names):
        names += [f"{k}=" for k in config_keys()]
    return [CompletionItem(n, type="plain") for n in names if n.startswith(incomplete)]
