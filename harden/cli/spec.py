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


@spec.command("merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Merged spec file to write.")  # fmt: skip
def merge(files: tuple[Path, ...], output: Path) -> None:
    """Merge specs (recordings of replicas or test phases, hand-written specs) into one:
    the union of what they need; every item keeps its origin (recorded, runtime base,
    user) and names the file it came from."""
    from harden.cli.record import merge_specs  # noqa: PLC0415

    merge_specs(files, output)
