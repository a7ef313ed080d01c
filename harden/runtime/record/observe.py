"""What a traced workload did, accumulated from its system calls.

:class:`Observer` is fed :class:`~harden.runtime.record.trace.Call` objects and keeps the facts
a spec needs: syscall names per architecture, files read/written/executed, sockets by
family and type, ports bound and connected, clone namespace flags, and capability
hints (calls that succeed only with a capability, such as ``setuid`` or ``chown``).
Each fact remembers which programs produced it. Pure: no I/O.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harden.kernel.syscalls import Arch
from harden.runtime.record.trace import Call, decoration, split_args, string_arg

_FAMILY = re.compile(r"\bsa_family=AF_(?P<family>[A-Z0-9]+)")
_PORT = re.compile(r"\bsin6?_port=htons\((?P<port>\d+)\)")
_INET_ADDR = re.compile(r'inet_addr\("(?P<addr>[^"]*)"\)')
_INET6_ADDR = re.compile(r'inet_pton\(AF_INET6, "(?P<addr>[^"]*)"')
_FLAGS = re.compile(r"\bflags=(?P<flags>[A-Z0-9_|]+)")
_NS_FLAGS = (
    "CLONE_NEWNS", "CLONE_NEWUTS", "CLONE_NEWIPC", "CLONE_NEWUSER",
    "CLONE_NEWPID", "CLONE_NEWNET", "CLONE_NEWCGROUP", "CLONE_NEWTIME",
)  # fmt: skip
_SOCK_TYPES = {"SOCK_STREAM": "stream", "SOCK_DGRAM": "dgram", "SOCK_RAW": "raw",
               "SOCK_SEQPACKET": "seqpacket"}  # fmt: skip
_FORKS = frozenset({"clone", "clone3", "fork", "vfork"})
_EXECS = frozenset({"execve", "execveat"})
_SETUID = frozenset({"setuid", "setreuid", "setresuid", "setfsuid", "setuid32", "setreuid32",
                     "setresuid32", "setfsuid32"})  # fmt: skip
_SETGID = frozenset({"setgid", "setregid", "setresgid", "setfsgid", "setgroups", "setgid32",
                     "setregid32", "setresgid32", "setfsgid32", "setgroups32"})  # fmt: skip
_CHOWN = frozenset({"chown", "fchown", "lchown", "fchownat", "chown32", "fchown32", "lchown32"})
# Calls that change the file system at a path argument (index of the path, of its dirfd).
_PATH_WRITES: Mapping[str, tuple[tuple[int, int | None], ...]] = {
    "mkdir": ((0, None),), "mkdirat": ((1, 0),), "rmdir": ((0, None),),
    "unlink": ((0, None),), "unlinkat": ((1, 0),), "rename": ((0, None), (1, None)),
    "renameat": ((1, 0), (3, 2)), "renameat2": ((1, 0), (3, 2)),
    "link": ((1, None),), "linkat": ((3, 2),), "symlink": ((1, None),), "symlinkat": ((2, 1),),
    "chmod": ((0, None),), "fchmodat": ((1, 0),), "truncate": ((0, None),),
    "mknod": ((0, None),), "mknodat": ((1, 0),), "utimensat": ((1, 0),),
}  # fmt: skip
_PRIVILEGED_NOTES = {
    "mount": "mount() needs SYS_ADMIN",
    "umount2": "umount2() needs SYS_ADMIN",
    "ptrace": "ptrace() of other processes needs SYS_PTRACE",
    "unshare": "unshare() of namespaces needs SYS_ADMIN",
}

Who = str | int  # a program name, or a pid whose program is not known yet


@dataclass
class Observations:
    """Facts seen while recording; every value is the set of programs that produced it."""

    syscalls: dict[Arch, dict[str, set[str]]] = field(default_factory=dict)
    reads: dict[str, set[str]] = field(default_factory=dict)
    writes: dict[str, set[str]] = field(default_factory=dict)
    created_dirs: dict[str, set[str]] = field(default_factory=dict)
    execs: dict[str, set[str]] = field(default_factory=dict)
    families: dict[str, set[str]] = field(default_factory=dict)  # "inet" -> programs
    socket_types: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    listen: dict[tuple[int, str], set[str]] = field(default_factory=dict)  # (port, proto)
    connect: dict[tuple[str, int, str], set[str]] = field(default_factory=dict)
    namespace_flags: dict[str, set[str]] = field(default_factory=dict)
    capability_hints: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    notes: dict[str, set[str]] = field(default_factory=dict)
    pids: set[int] = field(default_factory=set)
    calls: int = 0

    def programs(self) -> set[str]:
        out: set[str] = set()
        for by_name in self.syscalls.values():
            for who in by_name.values():
                out |= who
        return out


class Observer:
    """Feed calls with :meth:`add`; read the facts with :meth:`finish`."""

    def __init__(
        self, programs: Mapping[int, str] | None = None, skip_until_exec: Iterable[int] = ()
    ) -> None:
        self._program: dict[int, str] = dict(programs or {})
        self._parent: dict[int, int] = {}
        self._skip = set(skip_until_exec)
        self._sockets: dict[tuple[int, int], tuple[str, str]] = {}  # (pid, fd) -> family, type
        self._raw: dict[str, dict[object, set[Who]]] = {}
        self._obs = Observations()

    def _note(self, kind: str, key: object, pid: int) -> None:
        who: Who = self._program.get(pid, pid)
        self._raw.setdefault(kind, {}).setdefault(key, set()).add(who)

    def add(self, call: Call) -> None:
        if call.pid in self._skip:
            if call.name in _EXECS and not call.failed:
                self._skip.discard(call.pid)
            else:
                return
        self._obs.calls += 1
        self._obs.pids.add(call.pid)
        self._note("syscall", (call.arch, call.name), call.pid)
        if call.name in _EXECS and not call.failed:
            self._exec(call)
        elif call.name in _FORKS:
            child = call.child_pid
            if child and child > 0:
                self._parent[child] = call.pid
                if call.pid in self._program:
                    self._program.setdefault(child, self._program[call.pid])
            self._namespaces(call)
        elif call.name == "unshare":
            self._namespaces(call)
        if call.failed:
            return
        self._facts(call)

    def _facts(self, call: Call) -> None:
        name = call.name
        if name in ("open", "openat", "openat2", "creat"):
            self._open(call)
        elif name in _PATH_WRITES:
            self._path_write(call)
        elif name in ("socket", "socketpair"):
            self._socket(call)
        elif name in ("bind", "connect", "sendto", "sendmsg"):
            self._address(call)
        elif name == "listen":
            fd = call_fd(call)
            if fd is not None:
                family, _ = self._sockets.get((call.pid, fd), ("inet", "stream"))
                self._sockets[(call.pid, fd)] = (family, "stream")
        elif name in _SETUID:
            self._hint("SETUID", f"{name}()", call.pid)
        elif name in _SETGID:
            self._hint("SETGID", f"{name}()", call.pid)
        elif name in _CHOWN:
            self._hint("CHOWN", f"{name}()", call.pid)
        elif name == "chroot":
            self._hint("SYS_CHROOT", "chroot()", call.pid)
        elif name in _PRIVILEGED_NOTES:
            self._note("note", _PRIVILEGED_NOTES[name], call.pid)

    def _exec(self, call: Call) -> None:
        args = split_args(call.args)
        index = 1 if call.name == "execveat" else 0
        path = string_arg(args[index]) if len(args) > index else None
        if not path:
            return
        if not path.startswith("/") and call.name == "execveat":
            base = decoration(args[0])
            path = posixpath.normpath(posixpath.join(base, path)) if base else path
        argv0 = string_arg(args[index + 1].lstrip("[")) if len(args) > index + 1 else None
        self._program[call.pid] = posixpath.basename(argv0 or path) or posixpath.basename(path)
        if path != "/proc/self/exe":  # a multi-call binary re-running itself (busybox)
            self._note("exec", path, call.pid)

    def _open(self, call: Call) -> None:
        args = split_args(call.args)
        if call.name in ("open", "creat"):
            flags = "O_WRONLY|O_CREAT|O_TRUNC" if call.name == "creat" else _arg(args, 1)
        else:
            flags = _arg(args, 2)
        path = call.returned_path or _resolve(args, call.name)
        if not path:
            return
        if "O_PATH" in flags:
            return
        write = any(f in flags for f in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"))
        read = "O_WRONLY" not in flags
        if write:
            self._note("write", path, call.pid)
        if read:
            self._note("read", path, call.pid)

    def _path_write(self, call: Call) -> None:
        args = split_args(call.args)
        for index, dirfd in _PATH_WRITES[call.name]:
            path = string_arg(_arg(args, index))
            if not path:
                continue
            if not path.startswith("/"):
                base = decoration(_arg(args, dirfd)) if dirfd is not None else None
                if not base or not base.startswith("/"):
                    continue
                path = posixpath.join(base, path)
            path = posixpath.normpath(path)
            self._note("mkdir" if call.name in ("mkdir", "mkdirat") else "write", path, call.pid)

    def _socket(self, call: Call) -> None:
        args = split_args(call.args)
        family = _arg(args, 0).removeprefix("AF_").lower()
        kind = next((v for k, v in _SOCK_TYPES.items() if k in _arg(args, 1)), "other")
        self._note("family", family, call.pid)
        self._note("socket_type", (family, kind), call.pid)
        fd = call.returned_int
        if call.name == "socket" and fd is not None:
            self._sockets[(call.pid, fd)] = (family, kind)
            if (kind == "raw" and family in ("inet", "inet6")) or family == "packet":
                self._hint("NET_RAW", f"socket(AF_{family.upper()}, SOCK_RAW)", call.pid)

    def _address(self, call: Call) -> None:
        family_match = _FAMILY.search(call.args)
        if not family_match:
            return
        family = family_match["family"].lower()
        if family not in ("inet", "inet6"):
            return
        port_match = _PORT.search(call.args)
        port = int(port_match["port"]) if port_match else 0
        if not port:
            return
        fd = call_fd(call)
        _, kind = self._sockets.get((call.pid, fd if fd is not None else -1), (family, ""))
        datagram = kind == "dgram" or (not kind and call.name in ("sendto", "sendmsg"))
        proto = "udp" if datagram else "tcp"
        if call.name == "bind":
            self._note("listen", (port, proto), call.pid)
            if port < 1024:
                self._hint("NET_BIND_SERVICE", f"bind() to port {port}", call.pid)
            return
        addr = _INET_ADDR.search(call.args) or _INET6_ADDR.search(call.args)
        host = addr["addr"] if addr else "*"
        self._note("connect", (host, port, proto), call.pid)

    def _namespaces(self, call: Call) -> None:
        flags = _FLAGS.search(call.args)
        text = flags["flags"] if flags else (_arg(split_args(call.args), 0))
        for flag in _NS_FLAGS:
            if flag in text.split("|"):
                self._note("namespace", flag, call.pid)

    def _hint(self, cap: str, why: str, pid: int) -> None:
        self._note("cap", (cap, why), pid)

    def finish(self) -> Observations:
        """The accumulated facts with every process shown by its program name."""
        obs = self._obs
        for kind, facts in self._raw.items():
            for key, whos in facts.items():
                names = {self._name(w) for w in whos}
                _store(obs, kind, key, names)
        return obs

    def _name(self, who: Who) -> str:
        if isinstance(who, str):
            return who
        pid: int | None = who
        seen: set[int] = set()
        while pid is not None and pid not in seen:
            if pid in self._program:
                return self._program[pid]
            seen.add(pid)
            pid = self._parent.get(pid)
        return f"pid {who}"


_TARGETS = {
    "read": "reads", "write": "writes", "mkdir": "created_dirs", "exec": "execs",
    "family": "families", "socket_type": "socket_types", "listen": "listen",
    "connect": "connect", "namespace": "namespace_flags", "note": "notes",
}  # fmt: skip


def _store(obs: Observations, kind: str, key: Any, names: set[str]) -> None:
    if kind == "syscall":
        arch, name = key
        obs.syscalls.setdefault(arch, {}).setdefault(name, set()).update(names)
    elif kind == "cap":
        cap, why = key
        obs.capability_hints.setdefault(cap, {}).setdefault(why, set()).update(names)
    else:
        target: dict[Any, set[str]] = getattr(obs, _TARGETS[kind])
        target.setdefault(key, set()).update(names)


def _arg(args: list[str], index: int | None) -> str:
    if index is None or index >= len(args):
        return ""
    return args[index]


def call_fd(call: Call) -> int | None:
    """The descriptor number of a call's first argument (``3<socket:[1]>`` -> 3)."""
    first = split_args(call.args)[:1]
    if not first:
        return None
    head = first[0].split("<", 1)[0]
    return int(head) if head.isdigit() else None


def _resolve(args: list[str], name: str) -> str | None:
    """The absolute path an open call named, when no decoration says where it went."""
    if name in ("open", "creat"):
        path = string_arg(_arg(args, 0))
        return path if path and path.startswith("/") else None
    path = string_arg(_arg(args, 1))
    if not path:
        return None
    if path.startswith("/"):
        return posixpath.normpath(path)
    base = decoration(_arg(args, 0))
    if base and base.startswith("/"):
        return posixpath.normpath(posixpath.join(base, path))
    return None
