"""Terminal output that shows untrusted text literally.

Names, labels, paths and messages may come from attackers (container metadata, file
names). :func:`literal` escapes every control character (terminal escape sequences
included); rich output is built from Text objects, never from markup strings.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from harden.report.text import shown

if TYPE_CHECKING:
    from rich.console import Console


def literal(text: str) -> str:
    """``text`` with control, bidi and line-separator characters shown as escapes."""
    return shown(text)


def stderr_console() -> Console:
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def stdout_console() -> Console:
    from rich.console import Console  # noqa: PLC0415

    return Console(highlight=False, markup=False, emoji=False)


@contextmanager
def progress_reporter(enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """A progress callback: a spinner with the current step on a terminal, silence otherwise."""
    if not enabled or not sys.stderr.isatty():
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
    click.echo(literal(message), err=True)
