"""Building the SELinux CIL module of a workload spec (pure: spec, whitelist, base facts).

The module is a block that inherits harden's reusable blocks (``profiles/selinux``)
for what the spec needs, plus rules of its own:

- ``name_bind`` on the type the base policy gives each listen port, and
  ``name_connect`` on the type of each outbound TCP port (not a whole port range);
- the capability whitelist, as ``capability``/``capability2`` permissions (and their
  ``cap_userns`` twins when the workload runs in a user namespace);
- socket classes for extra address families the spec names.

Access to files is per mount: the workload's own file type (root file system, tmpfs,
volumes), read always, written only when the spec writes, executed beyond the
entrypoint only when the spec runs programs. A capability the base forbids every
domain (a neverallow) is refused with the field that asked for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from harden.kernel.capabilities import NUMBER
from harden.layers.caps.build import build_capabilities
from harden.layers.caps.model import CapabilityPlan
from harden.layers.interface import Unexpressible, layer_name
from harden.layers.selinux.base import SelinuxBase, SelinuxFacts
from harden.layers.selinux.model import Allow, CilModule, Inherit
from harden.profile.spec import WorkloadSpec

LAYER = "SELinux"
SOCKET_PERMS = (
    "create", "bind", "connect", "getattr", "setattr", "getopt", "setopt", "read", "write",
    "shutdown", "ioctl",
)  # fmt: skip
FAMILY_CLASS = {
    "ax25": "ax25_socket",
    "ipx": "ipx_socket",
    "appletalk": "appletalk_socket",
    "x25": "x25_socket",
    "key": "key_socket",
    "packet": "packet_socket",
    "rds": "rds_socket",
    "can": "can_socket",
    "tipc": "tipc_socket",
    "bluetooth": "bluetooth_socket",
    "alg": "alg_socket",
    "vsock": "vsock_socket",
    "xdp": "xdp_socket",
}
IMPLICIT_FAMILIES = frozenset({"unix", "inet", "inet6", "netlink"})


def build_selinux(spec: WorkloadSpec, caps: CapabilityPlan, facts: SelinuxFacts) -> CilModule:
    """The CIL module for ``spec`` on a host whose base policy has ``facts``."""
    name = layer_name(spec)
    allows = [*_ports(spec, facts), *_capabilities(spec, caps, facts), *_families(spec, facts)]
    return CilModule(
        name=name,
        description=f"{spec.name} ({name})",
        inherits=tuple(_inherits(spec)),
        allows=tuple(allows),
        notes=(
            "Label the workload's files with the file type: docker/podman run "
            f"--security-opt label=type:{name}.process --security-opt "
            f"label=filetype:{name}.content",
        ),
        base=facts.source,
    )


class SelinuxHost(Protocol):
    """What the SELinux layer needs from the host: the base policy (loaded on first use)."""

    @property
    def selinux_base(self) -> Callable[[], SelinuxBase]: ...


def build(spec: WorkloadSpec, host: SelinuxHost) -> CilModule:
    """The layer's builder: the module for the host's base policy and the spec's whitelist."""
    return build_selinux(spec, build_capabilities(spec), host.selinux_base().facts)


def _inherits(spec: WorkloadSpec) -> Iterator[Inherit]:
    net, files = spec.network, spec.files
    yield Inherit("harden_container", "every workload: its domain, its files, /proc and /sys read")
    if files.exec:
        yield Inherit("harden_exec", "files.exec: starts other programs")
    if files.write or files.tmpfs:
        yield Inherit("harden_write", "files.write/files.tmpfs: writes its own files")
    if any(p.protocol == "tcp" for p in net.listen):
        yield Inherit("harden_tcp_server", "network.listen: TCP server")
    if any(p.protocol == "tcp" for p in net.outbound):
        yield Inherit("harden_tcp_client", "network.outbound: TCP client")
    if net.outbound or any(p.protocol == "udp" for p in net.listen):
        yield Inherit("harden_udp", "UDP in network.listen, or DNS lookups for network.outbound")
    if any(p.protocol == "udp" for p in net.listen):
        yield Inherit("harden_udp_server", "network.listen: UDP server")
    if net.unix:
        yield Inherit("harden_unix", "network.unix: unix sockets")
    if net.netlink:
        yield Inherit("harden_netlink", "network.netlink: route queries")
    if net.raw_sockets:
        yield Inherit("harden_raw", "network.raw_sockets")
    if {"ipc-shm", "ipc-sysv"} & set(spec.syscalls.sets):
        yield Inherit("harden_sysv_ipc", "syscalls.sets: System V IPC")


def _port_type(facts: SelinuxFacts, proto: str, port: int, field: str) -> str:
    found = facts.port_type(proto, port)
    if found is None:
        raise Unexpressible(
            LAYER, field, f"the base policy labels no {proto} port {port} ({facts.source})"
        )
    return found


def _ports(spec: WorkloadSpec, facts: SelinuxFacts) -> Iterator[Allow]:
    for i, p in enumerate(spec.network.listen):
        cls = f"{p.protocol}_socket"
        port_type = _port_type(facts, p.protocol, p.port, f"network.listen[{i}]")
        yield Allow(
            port_type,
            cls,
            ("name_bind",),
            f"network.listen[{i}]: {p.protocol} port {p.port} is {port_type} in the base policy",
        )
    for i, o in enumerate(spec.network.outbound):
        if o.protocol != "tcp":
            continue  # UDP has no name_connect permission
        port_type = _port_type(facts, "tcp", o.port, f"network.outbound[{i}]")
        yield Allow(
            port_type,
            "tcp_socket",
            ("name_connect",),
            f"network.outbound[{i}]: tcp port {o.port} is {port_type} in the base policy",
        )


def capability_classes(userns: bool) -> tuple[tuple[str, str], ...]:
    """(class for capabilities 0-31, class for 32-63), once more for user namespaces."""
    plain = (("capability", "capability2"),)
    return (*plain, ("cap_userns", "cap2_userns")) if userns else plain


def _capabilities(spec: WorkloadSpec, caps: CapabilityPlan, facts: SelinuxFacts) -> list[Allow]:
    index = {c.name: i for i, c in enumerate(spec.capabilities)}
    userns = bool(spec.user_namespace and spec.user_namespace.enabled)
    grouped: dict[str, list[str]] = {}
    for cap in caps.keep:
        perm = cap.lower()
        field = f"capabilities[{index.get(cap, 0)}].name"
        if perm in facts.forbidden_caps:
            raise Unexpressible(
                LAYER,
                field,
                f"{cap} cannot be granted: the base policy forbids it to every domain "
                f"(neverallow in {facts.source})",
                hint="drop the capability; no container should need it",
            )
        for low, high in capability_classes(userns):
            cls = low if NUMBER[cap] < 32 else high
            if not facts.has(cls, perm):
                raise Unexpressible(
                    LAYER, field, f"the base policy's {cls} class has no {perm} permission"
                )
            grouped.setdefault(cls, []).append(perm)
    why = {
        "capability": "the capability whitelist (capabilities.json)",
        "capability2": "the capability whitelist (capabilities.json), capabilities 32 and up",
        "cap_userns": "the same whitelist inside the workload's user namespace",
        "cap2_userns": "the same whitelist inside the workload's user namespace, 32 and up",
    }
    return [Allow("self", cls, tuple(perms), why[cls]) for cls, perms in grouped.items()]


def _families(spec: WorkloadSpec, facts: SelinuxFacts) -> Iterator[Allow]:
    for i, family in enumerate(spec.network.families):
        if family in IMPLICIT_FAMILIES:
            continue
        cls = FAMILY_CLASS.get(family, "")
        perms = tuple(p for p in SOCKET_PERMS if facts.has(cls, p))
        if not cls or not perms:
            raise Unexpressible(
                LAYER, f"network.families[{i}]", f"the base policy has no socket class for {family}"
            )
        yield Allow("self", cls, perms, f"network.families[{i}]: AF_{family.upper()} sockets")
