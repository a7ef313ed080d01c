"""Terminal output that shows untrusted text literally.

Names, labels, paths and messages may come from attackers (container metadata, file
names). :func:`literal` escapes every control character (terminal escape sequences
included); rich output is built from Text objects, never from markup strings.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from harden.progress import Progress, no_progress
from harden.report.text import shown

if TYPE_CHECKING:
    from rich.console import Console


QUIET = False  # --quiet / HARDEN_QUIET: no progress, notes or summaries on stderr
COLOR: bool | None = None  # harden --color / --no-color (None: NO_COLOR, else a terminal)


def set_quiet(value: bool) -> None:
    global QUIET  # noqa: PLW0603 - one process, one command line
    QUIET = value


def set_color(value: bool | None) -> None:
    global COLOR  # noqa: PLW0603 - one process, one command line
    COLOR = value


def colour_wanted(stream_is_tty: bool, forced: bool | None) -> bool:
    """--color/--no-color win; else NO_COLOR (any value) turns colour off; else a TTY."""
    if forced is None:
        forced = COLOR
    if forced is not None:
        return forced
    if os.environ.get("NO_COLOR"):
        return False
    return stream_is_tty


def literal(text: str) -> str:
    """``text`` with control, bidi and line-separator characters shown as escapes."""
    return shown(text)


def stderr_console() -> Console:
    from rich.console import Console  # noqa: PLC0415

    return Console(
        stderr=True,
        highlight=False,
        markup=False,
        emoji=False,
        force_terminal=True if COLOR else None,
        no_color=True if COLOR is False else None,
    )


def stdout_console() -> Console:
    from rich.console import Console  # noqa: PLC0415

    # rich honours NO_COLOR itself; --color forces colour on a pipe, --no-color removes it
    return Console(
        highlight=False,
        markup=False,
        emoji=False,
        force_terminal=True if COLOR else None,
        no_color=True if COLOR is False else None,
    )


@contextmanager
def progress_reporter(enabled: bool = True, *, bar_from: int = 10) -> Iterator[Progress]:
    """The library's progress callback, on a terminal's stderr (silent elsewhere): a bar
    for counted work from ``bar_from`` items on, the current step for the rest."""
    if not enabled or QUIET or not sys.stderr.isatty():
        yield no_progress
        return
    from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn  # noqa: PLC0415
    from rich.progress import Progress as Bar  # noqa: PLC0415

    from harden.report.text import shown  # noqa: PLC0415

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),  # names and paths are untrusted
        BarColumn(),
        MofNCompleteColumn(),
    )
    with Bar(*columns, console=stderr_console(), transient=True) as bar:
        task = bar.add_task("working", total=None)

        def update(done: int, total: int, what: str) -> None:
            if total:
                bar.update(task, completed=done, total=total, description=shown(what, 40))
                bar.update(task, visible=total >= bar_from)
            else:
                bar.update(task, completed=0, total=None, description=shown(what, 70), visible=True)

        yield update


def warn(message: str) -> None:
    click.echo(f"warning: {literal(message)}", err=True)


def info(message: str) -> None:
    """A note for a person on stderr (silenced by --quiet; warnings and errors are not)."""
    if not QUIET:
        click.echo(literal(message), err=True)
