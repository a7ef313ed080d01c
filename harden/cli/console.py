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

if TYPE_CHECKING:
    from rich.console import Console

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def literal(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``), safe for a terminal."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029):
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


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
