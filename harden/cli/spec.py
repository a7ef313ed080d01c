"""``harden spec``: checking workload specs."""

from __future__ import annotations

from pathlib import Path

import click

from harden.cli.console import info, literal, warn


@click.group()
def spec() -> None:
    """Work with workload specs (YAML)."""


@spec.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def check(files: tuple[Path, ...]) -> None:
    """Validate workload specs strictly: unknown keys, capability and syscall names per
    architecture, types. Prints every problem with file, line and field; exit 2 if any."""
    from harden.errors import ExitCode, HardenError  # noqa: PLC0415
    from harden.profile.loader import load_spec  # noqa: PLC0415

    failed = False
    for path in files:
        try:
            loaded = load_spec(path)
        except HardenError as exc:
            click.echo(exc.diagnostics(), err=True)
            failed = True
            continue
        for problem in loaded.warnings:
            warn(problem.render(loaded.source))
        info(f"{literal(str(path))}: ok ({loaded.spec.name})")
    if failed:
        raise SystemExit(ExitCode.INPUT)
