"""Planning user namespaces (pure): one subordinate ID range per tenant, none overlapping.

First fit over the pool's free segments, in the order the tenants are given, so the
plan is deterministic. A range never straddles two pool entries (one uid_map line per
tenant), never holds host root unless the pool was read with that explicitly allowed,
and UIDs and GIDs get the same range. A spec's plan is one tenant named after it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from harden.errors import InputError
from harden.layers.interface import Unexpressible, layer_name
from harden.layers.userns.model import DEFAULT_SIZE, Allocation, IdRange, Plan, Pool, Tenant
from harden.profile.spec import WorkloadSpec

NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class PlanError(InputError):
    """The tenants cannot be placed in the pool; nothing was planned."""


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


class UsernsHost(Protocol):
    """What the user namespace layer needs from the host: the pool IDs come from."""

    @property
    def pool(self) -> Pool: ...


def build(spec: WorkloadSpec, host: UsernsHost) -> Plan | None:
    """The range of ``spec``'s user namespace from the host's pool (None: no namespace)."""
    userns = spec.user_namespace
    if userns is None or not userns.enabled:
        return None
    for field, value in (("user.uid", spec.user.uid), ("user.gid", spec.user.gid)):
        if value >= userns.size:
            raise Unexpressible(
                "user namespace",
                "user_namespace.size",
                f"{userns.size} IDs cannot map {field} {value} (IDs 0-{userns.size - 1} only)",
                hint=f"make user_namespace.size larger than {value}",
            )
    try:
        return plan(host.pool, [Tenant(layer_name(spec), userns.size)])
    except PlanError as exc:
        raise Unexpressible("user namespace", "user_namespace.size", exc.message) from None
