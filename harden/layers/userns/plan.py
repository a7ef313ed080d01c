"""Planning user namespaces: one subordinate ID range per tenant, none overlapping.

First fit over the pool's free segments, in the order the tenants are given, so the
plan is deterministic. A range never straddles two pool entries (one uid_map line per
tenant), never holds host root unless the pool was read with that explicitly allowed,
and UIDs and GIDs get the same range. Every deployable form is derived here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harden.errors import InputError
from harden.layers.userns.pool import IdRange, Pool

DEFAULT_SIZE = 65536
NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class PlanError(InputError):
    """The tenants cannot be placed in the pool; nothing was planned."""


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


def tenants_named(prefix: str, count: int, size: int = DEFAULT_SIZE) -> list[Tenant]:
    """``count`` tenants ``<prefix>1`` ... numbered with a fixed width."""
    width = len(str(count))
    return [Tenant(f"{prefix}{i:0{width}d}", size) for i in range(1, count + 1)]


def _check_tenants(tenants: Sequence[Tenant]) -> None:
    seen: set[str] = set()
    for t in tenants:
        if not NAME_RE.match(t.name):
            raise PlanError(
                f"tenant name {t.name!r} is not a valid user name for /etc/subuid",
                hint="use 1-32 lower-case letters, digits, '_' or '-', not starting with a digit",
            )
        if t.name in seen:
            raise PlanError(f"tenant {t.name!r} is listed twice")
        if t.size < 1:
            raise PlanError(f"tenant {t.name!r}: a range needs at least one ID")
        seen.add(t.name)


def plan(pool: Pool, tenants: Sequence[Tenant]) -> Plan:
    """Allocate a range for every tenant, or :class:`PlanError` naming the first that
    does not fit."""
    _check_tenants(tenants)
    free = [[r.start, r.end] for r in pool.ranges()]
    out: list[Allocation] = []
    for i, tenant in enumerate(tenants):
        segment = next((s for s in free if s[1] - s[0] >= tenant.size), None)
        if segment is None:
            need = sum(t.size for t in tenants)
            largest = max((s[1] - s[0] for s in free), default=0)
            raise PlanError(
                f"the pool is too small: {pool.source} holds {pool.size} IDs in "
                f"{len(pool.entries)} range(s); {len(tenants)} tenant(s) need {need}. "
                f"Tenant {tenant.name} (#{i + 1}, {tenant.size} IDs) does not fit; the "
                f"largest free range left has {largest}",
                hint="add ranges to the pool, or plan fewer or smaller tenants (--size)",
            )
        out.append(Allocation(tenant.name, IdRange(segment[0], tenant.size)))
        segment[0] += tenant.size
        if segment[0] == segment[1]:
            free.remove(segment)
    return Plan(pool.source, tuple(out), pool.size)
