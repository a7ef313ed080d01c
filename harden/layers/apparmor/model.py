"""The AppArmor profile model: what the builder decides, before any text exists.

Rules keep the reason they are there; :mod:`harden.layers.apparmor.render` turns the model
into profile text and is the only place that quotes or escapes anything, and
:mod:`harden.layers.apparmor.parse` reads text back into it. The queries at the end
answer what the cross-layer checks ask of a profile, generated or edited by hand.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

ALL = "ALL"  # the capability name of a bare `capability,` rule: every capability


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
    name: str  # kernel name without CAP_, upper case (rendered in lower case), or ALL
    reason: str
    deny: bool = False


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
    options: str = ""  # conditions as written in a hand-edited rule (harden writes none)


@dataclass(frozen=True)
class OtherRule:
    """A rule of a kind the model does not describe, as written (only read, never built)."""

    text: str
    reason: str


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
    other: tuple[OtherRule, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def capability_names(self, *, deny: bool = False) -> frozenset[str]:
        """Capabilities the rules allow (or deny); ALL for a rule without names."""
        return frozenset(r.name for r in self.capabilities if r.deny is deny)

    def allows_capability(self, cap: str) -> bool:
        allowed, denied = self.capability_names(), self.capability_names(deny=True)
        return bool({cap, ALL} & allowed) and not {cap, ALL} & denied

    def network_pairs(self, *, deny: bool = False) -> frozenset[tuple[str, str]]:
        """(family, type) of the network rules; empty strings: every family / type."""
        return frozenset((r.family, r.sock_type) for r in self.network if r.deny is deny)

    def allows_network(self, family: str, sock_type: str = "") -> bool:
        """Whether ``family`` sockets (of ``sock_type``; empty: of some type) are allowed."""
        for fam, typ in self.network_pairs(deny=True):
            if fam in ("", family) and typ in ("", sock_type):
                return False
        return any(
            fam in ("", family) and (not typ or not sock_type or typ == sock_type)
            for fam, typ in self.network_pairs()
        )

    @property
    def allows_mount(self) -> bool:
        return any(r.kind in ("mount", "remount") and not r.deny for r in self.mounts)
