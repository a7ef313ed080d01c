"""How a source plugs in: what every source implements and what it returns.

A source collects normalised facts about targets and never decides pass or fail. Every
source has the same three steps, so that one runner (:func:`harden.audit.run.collect`)
can read and judge the items of any source, in one process or in several:

* ``plan``: the serial part, done once (list and inspect containers through the engine,
  walk the input paths): the items left to read;
* ``read``: one item to its targets; pure CPU or /proc reads, safe to run in a forked
  worker, and its result (:class:`Read`) crosses a process boundary;
* ``finish``: every item's result, in order, into the :class:`Scan`, plus the targets
  that belong to no item (the host's engine).

Adding a source means adding a module with a class of this shape, and one line where the
request chooses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from harden.audit.state.model import Gap, GapKind, Layer, SourceKind, TargetKind, TargetState
from harden.errors import HardenError
from harden.progress import Progress

Item = TypeVar("Item")


@dataclass
class Read:
    """What reading one item gave: its targets, or why it could not be read."""

    targets: list[TargetState] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # readable, but not entirely (incomplete)
    error: HardenError | None = None  # unreadable input: the whole run is an input error
    counts: dict[str, int] = field(default_factory=dict)  # tallies the scan reports
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why it is no input)


class Source(Protocol[Item]):
    kind: SourceKind

    def plan(self, progress: Progress) -> Sequence[Item]:
        """The items to read (the part that talks to the engine, or walks the paths)."""
        ...

    def label(self, item: Item) -> str:
        """What to show while ``item`` is read (untrusted text)."""
        ...

    def read(self, item: Item) -> Read:
        """One item's targets (runs in any process)."""
        ...

    def finish(self, reads: Sequence[Read]) -> Scan:
        """The scan of every item read (``reads`` in the order of :meth:`plan`)."""
        ...


@dataclass(frozen=True)
class Scan:
    source: SourceKind
    targets: tuple[TargetState, ...]
    problems: tuple[str, ...] = ()
    engine_unavailable: bool = False  # the engine API could not be used at all
    endpoint: str = ""
    meta: dict[str, str] = field(default_factory=dict)  # hostname, kernel, engine version
    skipped: tuple[tuple[str, str], ...] = ()  # (path, reason): files that are no input


def unreadable(id_: str, name: str, source: SourceKind, reason: str) -> TargetState:
    """A container that vanished or was refused: every fact failed, with the reason."""
    gaps = {f"{layer}.*": Gap(GapKind.FAILED, reason) for layer in Layer}
    return TargetState(TargetKind.CONTAINER, id_, name, source, gaps=gaps)
