"""``harden completion SHELL``: the shell completion script, from click's own."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL; commands, options and choices complete.

    \b
    bash:  eval "$(harden completion bash)"       (in ~/.bashrc)
    zsh:   eval "$(harden completion zsh)"        (in ~/.zshrc)
    fish:  harden completion fish > ~/.config/fish/completions/harden.fish
    """
    from click.shell_completion import get_completion_class  # noqa: PLC0415

    from harden.cli import cli  # noqa: PLC0415

    kind = get_completion_class(shell)
    assert kind is not None  # every member of SHELLS is one of click's
    click.echo(kind(cli, {}, "harden", "_HARDEN_COMPLETE").source())
