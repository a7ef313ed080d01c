"""The report options every reporting command shares, and writing the rendered report."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from harden.report.formats import Format

if TYPE_CHECKING:
    from harden.audit.report import Report

F = TypeVar("F", bound=Callable[..., object])


def report_options(details_help: str) -> Callable[[F], F]:
    """--format, -o/--output, --details/-v and --color/--no-color."""

    def apply(command: F) -> F:
        for option in reversed(
            (
                click.option(
                    "--format",
                    "fmt",
                    type=click.Choice([f.value for f in Format]),
                    default="table",
                    show_default=True,
                    help="Report format.",
                ),
                click.option(
                    "-o",
                    "--output",
                    type=click.Path(path_type=Path, dir_okay=False),
                    help="Write the report to this file (atomically) instead of stdout.",
                ),
                click.option("--details", "-v", is_flag=True, help=details_help),
                click.option(
                    "--color/--no-color",
                    default=None,
                    help="Table colours (default: when stdout is a terminal).",
                ),
            )
        ):
            command = option(command)
        return command

    return apply


STDOUT = Path("-")


def emit(text: str, output: Path | None) -> None:
    """``text`` to ``output`` (atomically), or to stdout when it is None or ``-``."""
    if output is None or output == STDOUT:
        click.echo(text, nl=False)
        return
    from harden.system.files import write_file  # noqa: PLC0415

    write_file(output, text)


def render_to(
    report: Report, fmt: str, output: Path | None, details: bool, color: bool | None
) -> None:
    """Render ``report`` in ``fmt`` to ``output`` (atomically) or stdout."""
    from harden.report.formats import RenderOptions, render  # noqa: PLC0415

    use_color = color if color is not None else (output is None and sys.stdout.isatty())
    width = (
        120 if output is not None or not sys.stdout.isatty() else shutil.get_terminal_size().columns
    )
    options = RenderOptions(width=max(width, 80), color=bool(use_color), details=details)
    text = render(report, Format(fmt), options)
    if output is not None:
        from harden.system.files import write_file  # noqa: PLC0415

        write_file(output, text)
    else:
        click.echo(text, nl=False)
