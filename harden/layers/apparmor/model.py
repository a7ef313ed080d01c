"""The AppArmor profile model: what the builder decides, before any text exists.

Rules keep the reason they are there; :mod:`harden.layers.apparmor.render` turns the model
into profile text and is the only place that quotes or escapes anything.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class PathKind(enum.Enum):
    """Where a path came from, which decides how it may be written."""

    SPEC = "spec"  # from a workload spec: literal characters plus the * and ** globs
    PATTERN = "pattern"  # from harden's own data: a full AppArmor pattern ({a,b}, [0-9])


@dataclass(frozen=True, order=True)
class AAPath:
    text: str
    kind: PathKind = PathKind.SPEC


@dataclass(frozen=True)
class FileRule:
    path: AAPath
    perms: str  # AppArmor access letters, e.g. "r", "rwk", "mrix"
    reason: str
    deny: bool = False
    owner: bool = False


@dataclass(frozen=True)
class NetworkRule:
    """``network FAMILY TYPE,`` (either may be empty: all families / all types)."""

    family: str
    sock_type: str
    reason: str
    deny: bool = False


@dataclass(frozen=True)
class CapabilityRule:
    name: str  # kernel name without CAP_, upper case (rendered in lower case)
    reason: str


@dataclass(frozen=True)
class PeerRule:
    """A ``signal`` or ``ptrace`` rule limited to one peer profile."""

    kind: str  # "signal" | "ptrace"
    access: tuple[str, ...]
    peer: str
    reason: str


@dataclass(frozen=True)
class MountRule:
    """``mount``, ``umount`` or ``pivot_root``, allowed or denied as a whole."""

    kind: str
    reason: str
    deny: bool = True


@dataclass(frozen=True)
class AppArmorProfile:
    """One profile for one workload, in the order it is rendered."""

    name: str
    description: str
    flags: tuple[str, ...] = ("attach_disconnected", "mediate_deleted")
    capabilities: tuple[CapabilityRule, ...] = ()
    network: tuple[NetworkRule, ...] = ()
    peers: tuple[PeerRule, ...] = ()
    mounts: tuple[MountRule, ...] = ()
    files: tuple[FileRule, ...] = ()
    protections: tuple[FileRule, ...] = ()
    notes: tuple[str, ...] = field(default=())
