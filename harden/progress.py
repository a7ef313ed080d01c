"""How long work tells its caller what it is doing: one callback shape for every pipeline.

The library never prints. Work that counts (containers read, files judged) reports
``progress(done, total, what)``; a step without a count (checking a layer, attaching a
tracer) reports ``step(progress, what)``, which is ``progress(0, 0, what)``. ``what`` is
untrusted text (a container name, a path). The CLI shows both (harden/cli/console.py).
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]


def no_progress(_done: int, _total: int, _what: str) -> None:
    """The default: nobody is watching."""


def step(progress: Progress, what: str) -> None:
    """A step without a count."""
    progress(0, 0, what)
