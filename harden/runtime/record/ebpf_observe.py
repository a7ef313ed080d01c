"""From the eBPF recorder's maps (bpftrace ``-f json``) to :class:`Observations`. Pure.

The maps are described in :mod:`harden.runtime.record.ebpf_program`. Relative paths
are resolved with the directory each was relative to (the caller's working directory
or the dirfd), found by its inode number in ``dirs`` (inode -> path, which the recorder
learns from the workload's processes while it runs); a path whose directory was never
learnt is counted, not guessed.
"""

from __future__ import annotations

import json
import posixpath
import socket
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harden.kernel import capabilities as capmod
from harden.kernel import constants as k
from harden.kernel import syscalls as sc
from harden.kernel.syscalls import Arch
from harden.runtime.record.ebpf_program import AT_FDCWD, STRLEN, Program
from harden.runtime.record.observe import Observations

_FAMILY_NAMES = {v: name for name, v in k.ADDRESS_FAMILIES.items()}
_SOCK_TYPES = {k.SOCK_STREAM: "stream", k.SOCK_DGRAM: "dgram", k.SOCK_RAW: "raw",
               k.SOCK_SEQPACKET: "seqpacket"}  # fmt: skip
_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # O_WRONLY O_RDWR O_CREAT O_TRUNC O_APPEND
_O_PATH = 0o10000000
_NS_FLAGS = {
    0x00020000: "CLONE_NEWNS", 0x04000000: "CLONE_NEWUTS", 0x08000000: "CLONE_NEWIPC",
    0x10000000: "CLONE_NEWUSER", 0x20000000: "CLONE_NEWPID", 0x40000000: "CLONE_NEWNET",
    0x02000000: "CLONE_NEWCGROUP", 0x00000080: "CLONE_NEWTIME",
}  # fmt: skip
_RUNTIME_COMMS = ("runc:", "runc", "crun", "exe")  # the runtime's own work inside the cgroup
_PATH_FIELDS = 7  # @path[nr, which, flags, dirfd, inode, comm, path]


@dataclass(frozen=True)
class Maps:
    """The maps bpftrace printed, each as {key fields: count}."""

    maps: Mapping[str, Mapping[str, int]]

    @classmethod
    def parse(cls, lines: Iterable[str]) -> Maps:
        maps: dict[str, dict[str, int]] = {}
        for raw in lines:
            text = raw.strip()
            if not text.startswith("{"):
                continue
            try:
                doc = json.loads(text)
            except json.JSONDecodeError:
                continue
            if doc.get("type") == "map" and isinstance(doc.get("data"), dict):
                for name, values in doc["data"].items():
                    if isinstance(values, dict):
                        maps.setdefault(name.lstrip("@"), {}).update(values)
        return cls(maps)

    def rows(self, name: str, fields: int) -> Iterable[tuple[list[str], int]]:
        """Each key split into ``fields`` fields (only the last may hold commas)."""
        for key, count in self.maps.get(name, {}).items():
            parts = key.split(",", fields - 1)
            if len(parts) == fields:
                yield parts, int(count)

    def size(self, name: str) -> int:
        return len(self.maps.get(name, {}))


@dataclass
class Extras:
    """What the maps showed beyond :class:`Observations`: for comments in the spec."""

    ioctls: dict[int, set[str]] = field(default_factory=dict)
    personalities: set[int] = field(default_factory=set)
    multiplexed: dict[str, set[int]] = field(default_factory=dict)  # socketcall/ipc call numbers
    denied_caps: dict[str, set[str]] = field(default_factory=dict)
    unresolved_paths: int = 0
    cut_paths: int = 0
    full_maps: list[str] = field(default_factory=list)


def _runtime(comm: str) -> bool:
    return comm.startswith(_RUNTIME_COMMS[0]) or comm in _RUNTIME_COMMS[1:]


def _int(text: str) -> int:
    return int(text, 0)


def _add(target: dict[Any, set[str]], key: Any, comm: str) -> None:
    target.setdefault(key, set()).add(comm)


def observations(
    maps: Maps, program: Program, dirs: Mapping[int, str], max_keys: int
) -> tuple[Observations, Extras]:
    obs = Observations()
    extra = Extras()
    _syscalls(maps, program.arch, obs)
    _arguments(maps, obs, extra)
    _paths(maps, program, dirs, obs, extra)
    _network(maps, program.net_calls, obs)
    _capabilities(maps, obs, extra)
    for parts, _ in maps.rows("exec", 2):
        comm, path = parts
        if path and path != "/proc/self/exe" and not _runtime(comm):
            _add(obs.execs, posixpath.normpath(path), posixpath.basename(path))
    extra.full_maps = sorted(name for name, values in maps.maps.items() if len(values) >= max_keys)
    return obs, extra


def _syscalls(maps: Maps, native: Arch, obs: Observations) -> None:
    compat = {Arch.X86_64: Arch.X86}.get(native)
    for (abi, nr, comm), count in maps.rows("sys", 3):
        if _runtime(comm):
            continue
        arch = native if abi == "0" else compat
        if arch is None:
            continue
        number = _int(nr)
        if arch is Arch.X86_64 and number & sc.X32_SYSCALL_BIT:
            arch, number = Arch.X32, number & ~sc.X32_SYSCALL_BIT
        name = sc.table(arch).get(number, f"syscall_{number}")
        obs.syscalls.setdefault(arch, {}).setdefault(name, set()).add(comm)
        obs.calls += count


def _arguments(maps: Maps, obs: Observations, extra: Extras) -> None:
    for (flags, comm), _ in maps.rows("clone", 2):
        value = _int(flags)
        for bit, name in _NS_FLAGS.items():
            if value & bit and not _runtime(comm):
                _add(obs.namespace_flags, name, comm)
    for (_nr, family, kind, _proto, comm), _ in maps.rows("sock", 5):
        fam = _FAMILY_NAMES.get(_int(family), f"family {family}")
        sock_type = _SOCK_TYPES.get(_int(kind), "other")
        _add(obs.families, fam, comm)
        _add(obs.socket_types, (fam, sock_type), comm)
        if (sock_type == "raw" and fam in ("inet", "inet6")) or fam == "packet":
            obs.capability_hints.setdefault("NET_RAW", {}).setdefault(
                f"socket(AF_{fam.upper()}, SOCK_RAW)", set()
            ).add(comm)
    for (persona,), _ in maps.rows("pers", 1):
        extra.personalities.add(_int(persona))
    for (request, comm), _ in maps.rows("ioctl", 2):
        _add(extra.ioctls, _int(request), comm)
    for (nr, call), _ in maps.rows("mux", 2):
        kind = "socketcall" if nr == "102" else "ipc"
        extra.multiplexed.setdefault(kind, set()).add(_int(call))


def _with_chdirs(maps: Maps, learnt: Mapping[int, str]) -> dict[int, str]:
    """Directory inodes resolved: those learnt, plus where each chdir went from them."""
    dirs = dict(learnt)
    moves = [(_int(a), _int(b), path) for (a, b, path), _ in maps.rows("chdir", 3)]
    changed = True
    while changed:
        changed = False
        for old, new, path in moves:
            if new in dirs:
                continue
            if path.startswith("/"):
                dirs[new] = posixpath.normpath(path)
            elif old in dirs:
                dirs[new] = posixpath.normpath(posixpath.join(dirs[old], path))
            else:
                continue
            changed = True
    return dirs


def _paths(
    maps: Maps, program: Program, learnt: Mapping[int, str], obs: Observations, extra: Extras
) -> None:
    dirs = _with_chdirs(maps, learnt)
    for parts, _ in maps.rows("path", _PATH_FIELDS):
        nr, _which, flags, dirfd, inode, comm, path = parts
        name = program.path_calls.get(_int(nr))
        if name is None or _runtime(comm) or not path:
            continue
        if len(path.encode()) >= STRLEN - 1:
            extra.cut_paths += 1
            path = posixpath.dirname(path)
        if not path.startswith("/"):
            fd = _int(dirfd)
            base = dirs.get(_int(inode)) if fd == AT_FDCWD or fd >= 0 else None
            if base is None:
                extra.unresolved_paths += 1
                continue
            path = posixpath.join(base, path)
        path = posixpath.normpath(path)
        _path_fact(obs, name, _int(flags), path, comm)


def _path_fact(obs: Observations, name: str, flags: int, path: str, comm: str) -> None:
    if name in ("open", "openat"):
        if flags & _O_PATH:
            return
        if flags & _WRITE_FLAGS:
            _add(obs.writes, path, comm)
        if flags & 0o3 != 0o1:  # not O_WRONLY
            _add(obs.reads, path, comm)
    elif name in ("mkdir", "mkdirat"):
        _add(obs.created_dirs, path, comm)
    else:
        _add(obs.writes, path, comm)


def _network(maps: Maps, net_calls: Mapping[int, str], obs: Observations) -> None:
    """Ports bound and connected. Capabilities come from the kernel's checks only (a bind
    below 1024 needs none where ip_unprivileged_port_start allows it, as Docker sets)."""
    for (port, family, comm), _ in maps.rows("listen", 3):
        if _int(family) in (k.ADDRESS_FAMILIES["inet"], k.ADDRESS_FAMILIES["inet6"]):
            _add(obs.listen, (_int(port), "tcp"), comm)
    for (nr, family, port, addr, kind, comm), _ in maps.rows("net", 6):
        fam = _int(family)
        if fam not in (k.ADDRESS_FAMILIES["inet"], k.ADDRESS_FAMILIES["inet6"]):
            continue
        number = socket.ntohs(_int(port))
        if not number:
            continue
        proto = "udp" if _int(kind) == k.SOCK_DGRAM else "tcp"
        call = net_calls.get(_int(nr), "")
        if call == "bind" and proto == "udp":
            _add(obs.listen, (number, proto), comm)
        elif call == "connect":
            host = "*"
            if fam == k.ADDRESS_FAMILIES["inet"]:
                host = socket.inet_ntoa(struct.pack("<I", _int(addr) & 0xFFFFFFFF))
            _add(obs.connect, (host, number, proto), comm)


def _capabilities(maps: Maps, obs: Observations, extra: Extras) -> None:
    for (cap, granted, comm), _ in maps.rows("cap", 3):
        number = _int(cap)
        if _runtime(comm) or not 0 <= number < len(capmod.CAPABILITIES):
            continue
        name = capmod.CAPABILITIES[number]
        if granted == "1":
            why = f"the kernel checked CAP_{name} and granted it"
            obs.capability_hints.setdefault(name, {}).setdefault(why, set()).add(comm)
        else:
            _add(extra.denied_caps, name, comm)


def describe(extra: Extras) -> tuple[str, ...]:
    """What the maps showed that a spec has no field for, as lines for a comment."""
    lines = []
    if extra.denied_caps:
        checked = ", ".join(
            f"{c} ({', '.join(sorted(w))})" for c, w in sorted(extra.denied_caps.items())
        )
        lines.append(
            f"capabilities checked and NOT granted while recording: {checked}; the workload "
            "ran without them (the kernel also probes some, e.g. SYS_ADMIN for memory "
            "accounting), so none is proposed"
        )
    if extra.ioctls:
        shown = ", ".join(f"{r:#x}" for r in sorted(extra.ioctls)[:20])
        lines.append(f"ioctl requests seen: {shown}")
    if extra.personalities:
        lines.append(
            "personality values: " + ", ".join(f"{p:#x}" for p in sorted(extra.personalities))
        )
    for kind, calls in sorted(extra.multiplexed.items()):
        lines.append(f"32-bit {kind} calls: " + ", ".join(str(c) for c in sorted(calls)))
    if extra.unresolved_paths:
        lines.append(
            f"{extra.unresolved_paths} relative paths whose directory was not learnt are left out"
        )
    if extra.cut_paths:
        lines.append(
            f"{extra.cut_paths} paths longer than the recorder's limit are kept as their directory"
        )
    if extra.full_maps:
        lines.append(
            "recorder maps full (new keys dropped, memory stays bounded): "
            + ", ".join(extra.full_maps)
        )
    return tuple(lines)
