"""The WorkloadSpec: what one workload needs, loaded strictly from YAML.

Field docs here are the reference for the spec format (README links here).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from harden.kernel import capabilities as capmod
from harden.kernel.constants import ADDRESS_FAMILIES
from harden.kernel.syscalls import NATIVE_ARCHES, Arch

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
SYSCALL_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def _cap_name(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("a capability name must be a string such as NET_BIND_SERVICE")
    canonical = capmod.normalise(value)
    if canonical is None:
        close = capmod.suggest(value)
        hint = f"; did you mean {close}?" if close else ""
        raise ValueError(f"unknown capability {value!r}{hint}")
    return canonical


CapName = Annotated[str, BeforeValidator(_cap_name)]


def _syscall_name(value: str) -> str:
    if not SYSCALL_RE.match(value):
        raise ValueError(f"{value!r} is not a syscall name")
    return value


SyscallName = Annotated[str, AfterValidator(_syscall_name)]


class User(Strict):
    """The user the workload runs as. uid 0 is root."""

    uid: int = Field(ge=0, le=2**32 - 2)
    gid: int = Field(ge=0, le=2**32 - 2)
    name: str = ""


class CapabilityGrant(Strict):
    """One capability the workload keeps, and why."""

    name: CapName
    reason: str = Field(min_length=3)


class Syscalls(Strict):
    """Which syscalls the seccomp filter allows."""

    sets: tuple[str, ...] = ()
    allow: tuple[SyscallName, ...] = ()
    deny: tuple[SyscallName, ...] = ()
    arch_specific: dict[Arch, tuple[SyscallName, ...]] = {}
    # io_uring's operations (socket, openat, unlinkat, ...) run in the kernel without
    # reaching the seccomp filter: allowed only when a person says so here
    io_uring: bool = False


class Files(Strict):
    """Paths the workload reads, writes and executes (globs as in AppArmor: *, **).

    ``tmpfs`` lists directories mounted as tmpfs so a read-only root file system still
    has scratch space (e.g. /tmp, /run); data that must survive belongs on a volume.
    """

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    exec: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()

    @field_validator("read", "write", "exec", "tmpfs")
    @classmethod
    def _absolute(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"path {path!r} must be absolute")
        return paths


class Port(Strict):
    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"


class Outbound(Strict):
    host: str = Field(default="*", min_length=1)
    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"


class Network(Strict):
    """Sockets the workload uses. No listen and no outbound means no IP networking."""

    listen: tuple[Port, ...] = ()
    outbound: tuple[Outbound, ...] = ()
    ipv6: bool = True
    unix: bool = False
    netlink: bool = False
    raw_sockets: bool = False
    families: tuple[str, ...] = ()

    @field_validator("families")
    @classmethod
    def _families(cls, families: tuple[str, ...]) -> tuple[str, ...]:
        for family in families:
            if family not in ADDRESS_FAMILIES:
                known = ", ".join(sorted(ADDRESS_FAMILIES))
                raise ValueError(f"unknown address family {family!r}; known: {known}")
        return families

    @property
    def uses_ip(self) -> bool:
        return bool(self.listen or self.outbound)


class Device(Strict):
    path: str = Field(pattern=r"^/dev/[A-Za-z0-9._/-]+$")
    access: Literal["r", "w", "rw", "rwm", "rm", "wm", "m"] = "rw"


_SIZE_RE = re.compile(r"^(\d+)([KMGT]i?|[kmgt])?[bB]?$")
_UNITS = {
    "": 1,
    "k": 1000,
    "m": 1000**2,
    "g": 1000**3,
    "t": 1000**4,
    "ki": 1024,
    "mi": 1024**2,
    "gi": 1024**3,
    "ti": 1024**4,
}


def _bytes(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError("a size must be positive")
        return value
    if isinstance(value, str):
        match = _SIZE_RE.match(value.strip())
        if match:
            return int(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    raise ValueError(f"{value!r} is not a size; use bytes or a unit such as 256Mi or 1G")


ByteSize = Annotated[int, BeforeValidator(_bytes)]


class Resources(Strict):
    memory: ByteSize | None = None
    cpus: float | None = Field(default=None, gt=0, le=1024)
    pids: int | None = Field(default=None, ge=1, le=4_194_304)


class UserNamespace(Strict):
    enabled: bool = True
    size: int = Field(default=65536, ge=1, le=2**32 - 2)


class WorkloadSpec(Strict):
    """What one workload needs. Everything not granted here is denied."""

    name: str
    description: str = ""
    user: User = User(uid=0, gid=0)
    architectures: tuple[Arch, ...] = NATIVE_ARCHES
    runtime: Literal["runc", "crun"] = "runc"
    capabilities: tuple[CapabilityGrant, ...] = ()
    syscalls: Syscalls = Syscalls()
    files: Files = Files()
    network: Network = Network()
    devices: tuple[Device, ...] = ()
    read_only_rootfs: bool = True
    no_new_privileges: bool = True
    resources: Resources = Resources()
    user_namespace: UserNamespace | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not NAME_RE.match(name):
            raise ValueError(
                f"{name!r} is not a valid name: use 1-63 lowercase letters, digits, '.', '-', '_'"
            )
        return name

    @field_validator("architectures")
    @classmethod
    def _arches(cls, arches: tuple[Arch, ...]) -> tuple[Arch, ...]:
        if not arches:
            raise ValueError("list at least one architecture")
        for arch in arches:
            if arch not in NATIVE_ARCHES:
                raise ValueError(
                    f"{arch} is a 32-bit sub-architecture; list its 64-bit parent "
                    f"({arch.native}) and harden covers both"
                )
        return tuple(dict.fromkeys(arches))

    @model_validator(mode="after")
    def _unique_caps(self) -> WorkloadSpec:
        names = [c.name for c in self.capabilities]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"capability listed twice: {', '.join(dupes)}")
        return self

    @property
    def capability_names(self) -> tuple[str, ...]:
        """Granted capabilities in kernel order."""
        granted = {c.name for c in self.capabilities}
        return tuple(c for c in capmod.CAPABILITIES if c in granted)

    @property
    def is_root(self) -> bool:
        return self.user.uid == 0
