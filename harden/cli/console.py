"""Terminal output that shows untrusted text literally.

Names, labels, paths and messages may come from attackers (container metadata, file
names). :func:`literal` escapes every control character (terminal escape sequences
included); rich output is built from Text objects, never from markup strings.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

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
def progress_reporter(enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """A progress callback: a spinner with the current step on a terminal, silence otherwise."""
    if not enabled or QUIET or not sys.stderr.isatty():
        yield lambda _msg: None
        return
    console = stderr_console()
    with console.status("working") as status:

        def update(msg: str) -> None:
            status.update(literal(msg))

        yield update


def warn(message: str) -> None:
    click.echo(f"warning: {literal(message)}", err=True)


def info(message: str) -> None:
    """A note for a person on stderr (silenced by --quiet; warnings and errors are not)."""
    if not QUIET:
        click.echo(literal(message), err=True)


PROGRESS_FROM = 10  # a bar from this many items on (fewer finish before it would help)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int, str], None]]:
    """The library's progress callback (done, total, what), drawn as a rich bar on a
    terminal's stderr; nothing when quiet or not a terminal."""
    if QUIET or not sys.stderr.isatty():
        yield lambda _done, _total, _what: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # noqa: PLC0415

    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}", markup=False),  # names and paths are untrusted
    )
    with Progress(*columns, console=stderr_console(), transient=True) as bar:
        task = bar.add_task("", total=None, visible=False)

        def update(done: int, total: int, what: str) -> None:
            visible = total >= PROGRESS_FROM
            bar.update(
                task, completed=done, total=total, description=shown(what, 40), visible=visible
            )

        yield update
