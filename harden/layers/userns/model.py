"""User namespaces: subordinate ID pools, and the plan that gives each tenant a range.

A pool is the set of host IDs harden may hand out (``/etc/subuid``-style lines); a plan
gives every tenant one range of it, and every deployable form of that range is derived
here (subuid lines, OCI mappings, Docker, Podman, Kubernetes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_ID = 2**32 - 2  # (uid_t)-1 is "no ID"; the last usable ID is 2**32 - 2
DEFAULT_SIZE = 65536
# useradd's defaults (SUB_UID_MIN, SUB_UID_MAX in login.defs): where subordinate IDs
# live when no pool file is given.
DEFAULT_START = 100_000
DEFAULT_END = 600_100_000


@dataclass(frozen=True, order=True)
class IdRange:
    start: int
    count: int

    @property
    def end(self) -> int:
        """One past the last ID."""
        return self.start + self.count

    def overlaps(self, other: IdRange) -> bool:
        return self.start < other.end and other.start < self.end

    def __str__(self) -> str:
        return f"{self.start}-{self.end - 1}"


@dataclass(frozen=True)
class PoolEntry:
    owner: str
    range: IdRange
    line: int


@dataclass(frozen=True)
class Pool:
    entries: tuple[PoolEntry, ...]
    source: str

    @property
    def size(self) -> int:
        return sum(e.range.count for e in self.entries)

    def ranges(self) -> tuple[IdRange, ...]:
        return tuple(sorted(e.range for e in self.entries))


def default_pool() -> Pool:
    return Pool(
        (PoolEntry("default", IdRange(DEFAULT_START, DEFAULT_END - DEFAULT_START), 0),),
        "useradd defaults (SUB_UID_MIN..SUB_UID_MAX)",
    )


@dataclass(frozen=True)
class Tenant:
    name: str
    size: int = DEFAULT_SIZE


@dataclass(frozen=True)
class Allocation:
    tenant: str
    range: IdRange

    def subid_line(self) -> str:
        return f"{self.tenant}:{self.range.start}:{self.range.count}"

    def oci(self) -> dict[str, Any]:
        mapping = [{"containerID": 0, "hostID": self.range.start, "size": self.range.count}]
        return {"uidMappings": mapping, "gidMappings": [dict(m) for m in mapping]}

    def podman_flags(self) -> list[str]:
        spec = f"0:{self.range.start}:{self.range.count}"
        return [f"--uidmap={spec}", f"--gidmap={spec}"]

    def forms(self) -> dict[str, Any]:
        """Every form that applies this allocation."""
        return {
            "subuid": self.subid_line(),
            "subgid": self.subid_line(),
            "oci": self.oci(),
            "docker_daemon": {"userns-remap": self.tenant},
            "podman": self.podman_flags(),
            "podman_auto": f"--userns=auto:size={self.range.count}",
            "kubernetes": {"spec": {"hostUsers": False}},
        }


@dataclass(frozen=True)
class Plan:
    source: str
    allocations: tuple[Allocation, ...]
    pool_size: int

    @property
    def used(self) -> int:
        return sum(a.range.count for a in self.allocations)

    def subid_text(self) -> str:
        """Lines for /etc/subuid (and, identical, /etc/subgid)."""
        return "".join(a.subid_line() + "\n" for a in self.allocations)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "harden.userns-plan",
            "pool": self.source,
            "pool_ids": self.pool_size,
            "allocated_ids": self.used,
            "tenants": [
                {"name": a.tenant, "host_ids": [a.range.start, a.range.end - 1], **a.forms()}
                for a in self.allocations
            ],
        }
