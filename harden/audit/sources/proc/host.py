"""Facts about the host every container is compared with, read once per scan.

The host's namespaces are PID 1's; where PID 1 cannot be read (some sandboxes and
unprivileged runs), harden's own namespaces stand in and the origin says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harden.audit.sources.proc.mounts import HostMounts, parse_mountinfo
from harden.kernel.capabilities import CAPABILITIES
from harden.system.proc import NAMESPACES, ProcFS, ProcUnreadable


@dataclass
class HostContext:
    proc: ProcFS
    namespaces: dict[str, int]
    namespace_origin: str
    namespace_problem: str  # why the reference namespaces are unknown ('' when known)
    mounts: HostMounts
    mounts_problem: str
    cap_last_cap: int
    apparmor_enabled: bool
    selinux_enabled: bool
    _devices: dict[str, str] | None = field(default=None, repr=False)

    def device_path(self, rule: str) -> str:
        """``c 10:229`` -> ``/dev/fuse`` (or the rule itself when no node matches)."""
        if self._devices is None:
            self._devices = self.proc.device_nodes()
        return self._devices.get(rule, rule)


def _reference_namespaces(proc: ProcFS) -> tuple[dict[str, int], str, str]:
    problem = ""
    for pid, origin in (("1", "/proc/1/ns (PID 1)"), ("self", "/proc/self/ns (harden itself)")):
        try:
            return {kind: proc.namespace(pid, kind) for kind in NAMESPACES}, origin, ""
        except ProcUnreadable as exc:
            problem = exc.reason
    return {}, "", problem


def _host_mounts(proc: ProcFS) -> tuple[HostMounts, str]:
    for pid in ("1", "self"):
        try:
            return HostMounts(parse_mountinfo(proc.read(pid, "mountinfo"))), ""
        except ProcUnreadable as exc:
            problem = exc.reason
    return HostMounts(()), problem


def _read_flag(proc: ProcFS, path: str, on: str) -> bool:
    try:
        return proc.read_file(path).strip() == on
    except ProcUnreadable:
        return False


def host_context(proc: ProcFS | None = None) -> HostContext:
    proc = proc or ProcFS()
    namespaces, origin, ns_problem = _reference_namespaces(proc)
    mounts, mounts_problem = _host_mounts(proc)
    try:
        last_cap = int(proc.read_file(f"{proc.proc}/sys/kernel/cap_last_cap").strip())
    except (ProcUnreadable, ValueError):
        last_cap = len(CAPABILITIES) - 1
    return HostContext(
        proc=proc,
        namespaces=namespaces,
        namespace_origin=origin,
        namespace_problem=ns_problem,
        mounts=mounts,
        mounts_problem=mounts_problem,
        cap_last_cap=last_cap,
        apparmor_enabled=_read_flag(proc, f"{proc.sys}/module/apparmor/parameters/enabled", "Y"),
        selinux_enabled=_read_flag(proc, f"{proc.sys}/fs/selinux/enforce", "1"),
    )
