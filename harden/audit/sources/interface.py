"""What every source returns: the targets it found, and what went wrong on the way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from harden.audit.state.model import Gap, GapKind, Layer, SourceKind, TargetKind, TargetState

# done, total, what is being read now (a container name: untrusted text)
Progress = Callable[[int, int, str], None]


def no_progress(_done: int, _total: int, _what: str) -> None:
    """The default progress callback: the library never prints."""


@dataclass(frozen=True)
class Scan:
    source: SourceKind
    targets: tuple[TargetState, ...]
    problems: tuple[str, ...] = ()
    engine_unavailable: bool = False  # the engine API could not be used at all
    endpoint: str = ""
    meta: dict[str, str] = field(default_factory=dict)  # hostname, kernel, engine version


def unreadable(id_: str, name: str, source: SourceKind, reason: str) -> TargetState:
    """A container that vanished or was refused: every fact failed, with the reason."""
    gaps = {f"{layer}.*": Gap(GapKind.FAILED, reason) for layer in Layer}
    return TargetState(TargetKind.CONTAINER, id_, name, source, gaps=gaps)
