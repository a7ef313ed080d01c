"""Reading /proc: one reader that turns OS errors into reasons, parsers over its text,
and the recorder's tolerant helpers built on both.

Everything here is read-only and never enters a container: no exec, no setns, no
ptrace. Only :func:`passwd_ids` (the recorder resolving a container's ``User``) reads
through /proc/PID/root; the audit never does. ``HARDEN_PROC`` applies to every read.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field

NAMESPACES = ("pid", "net", "ipc", "uts", "user", "cgroup", "mnt")


class ProcUnreadable(Exception):
    """A /proc or /sys file could not be read; ``reason`` says why, for a person."""

    def __init__(self, reason: str, *, gone: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.gone = gone  # the process no longer exists


def _reason(path: str, exc: OSError) -> ProcUnreadable:
    if exc.errno in (errno.ENOENT, errno.ESRCH):
        return ProcUnreadable(f"{path}: the process has exited", gone=True)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ProcUnreadable(f"{path}: permission denied (run as root)")
    return ProcUnreadable(f"{path}: {exc.strerror or exc}")


def read_text(path: str, limit: int = 4 << 20, errors: str = "surrogateescape") -> str:
    """A small kernel file's text (paths are plain strings: pathlib costs too much here)."""
    chunks: list[bytes] = []
    size = 0
    try:
        with open(path, "rb", buffering=0) as handle:  # noqa: PTH123
            # /proc files are produced a page or so per read(): read until the end
            while size < limit and (chunk := handle.read(limit - size)):
                chunks.append(chunk)
                size += len(chunk)
    except OSError as exc:
        raise _reason(path, exc) from None
    return b"".join(chunks).decode("utf-8", errors=errors)


@dataclass(frozen=True)
class ProcFS:
    """A /proc and /sys tree; tests point it at fixture directories.

    ``HARDEN_PROC`` and ``HARDEN_SYS`` name other mounts of the host's /proc and /sys (the
    fleet DaemonSet mounts the node's /proc at /host/proc and its cgroup tree under
    /host/sys: a container's own /sys/fs/cgroup shows only its own cgroups).
    """

    # plain strings: pathlib costs too much on this hot path
    proc: str = field(default_factory=lambda: os.environ.get("HARDEN_PROC") or "/proc")
    sys: str = field(default_factory=lambda: os.environ.get("HARDEN_SYS") or "/sys")
    dev: str = "/dev"

    def device_nodes(self) -> dict[str, str]:
        """``"c 10:229"`` -> ``/dev/fuse``: the device nodes in /dev and its direct
        subdirectories (the first name found for each device number, in name order)."""
        out: dict[str, str] = {}
        todo = [self.dev]
        while todo:
            current = todo.pop()
            try:
                entries = sorted(os.scandir(current), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(info.st_mode) and current == self.dev and entry.name != "fd":
                    todo.append(entry.path)
                elif stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                    kind = "c" if stat.S_ISCHR(info.st_mode) else "b"
                    out.setdefault(
                        f"{kind} {os.major(info.st_rdev)}:{os.minor(info.st_rdev)}", entry.path
                    )
        return out

    def path(self, pid: int | str, name: str) -> str:
        return f"{self.proc}/{pid}/{name}"

    def read(self, pid: int | str, name: str) -> str:
        return read_text(self.path(pid, name))

    def read_file(self, path: str) -> str:
        return read_text(path, 1 << 20)

    def link(self, pid: int | str, name: str) -> str:
        """Where a process's symbolic link points (``ns/pid``, ``fd/3``)."""
        path = self.path(pid, name)
        try:
            return os.readlink(path)  # noqa: PTH115 - str paths: pathlib is slow here
        except OSError as exc:
            raise _reason(path, exc) from None

    def entries(self, pid: int | str, name: str) -> list[str]:
        """The names in a process's directory (``fd``, ``task``)."""
        path = self.path(pid, name)
        try:
            return os.listdir(path)  # noqa: PTH208
        except OSError as exc:
            raise _reason(path, exc) from None

    def namespace(self, pid: int | str, kind: str) -> int:
        """The inode of a process's namespace (``pid:[4026531836]`` -> 4026531836)."""
        target = self.link(pid, f"ns/{kind}")
        return int(target[target.index("[") + 1 : -1])

    def pids(self) -> list[int]:
        return sorted(int(n) for n in os.listdir(self.proc) if n.isdigit())  # noqa: PTH208


_STATUS_KEYS = re.compile(
    r"^(Name|PPid|TracerPid|Uid|Gid|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|"
    r"Seccomp_filters):[ \t]*(.*)$",
    re.MULTILINE,
)


def parse_status(text: str) -> dict[str, str]:
    """The lines of ``/proc/PID/status`` harden reads, as ``{"CapEff": "000001ff", ...}``."""
    return {key: value.rstrip() for key, value in _STATUS_KEYS.findall(text)}


def effective_uid(status: dict[str, str]) -> int:
    """The effective uid from a parsed status (``Uid: real effective saved fs``): what the
    kernel checks permissions with, so what the audit judges."""
    return int(status["Uid"].split()[1])


def real_ids(status: dict[str, str]) -> tuple[int, int] | None:
    """The real uid and gid from a parsed status: who started the process, so what the
    recorder writes into a spec's ``user``. None when the status lacks them."""
    try:
        return int(status["Uid"].split()[0]), int(status["Gid"].split()[0])
    except (KeyError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class IdRange:
    inside: int
    outside: int
    count: int

    def as_dict(self) -> dict[str, int]:
        return {"inside": self.inside, "outside": self.outside, "count": self.count}


def parse_id_map(text: str) -> tuple[IdRange, ...]:
    ranges = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3:
            ranges.append(IdRange(int(parts[0]), int(parts[1]), int(parts[2])))
    return tuple(ranges)


def inside_id(host_id: int, ranges: tuple[IdRange, ...]) -> int | None:
    """The id inside a user namespace for an id seen on the host (None if unmapped)."""
    for r in ranges:
        if r.outside <= host_id < r.outside + r.count:
            return r.inside + host_id - r.outside
    return None


@dataclass(frozen=True)
class CgroupLine:
    hierarchy: int
    controllers: tuple[str, ...]  # () for the cgroup v2 unified line
    path: str


def parse_cgroup(text: str) -> tuple[CgroupLine, ...]:
    lines = []
    for raw in text.splitlines():
        hier, sep, rest = raw.partition(":")
        controllers, sep2, path = rest.partition(":")
        if not (sep and sep2) or not hier.isdigit():
            continue
        names = tuple(c for c in controllers.split(",") if c)
        lines.append(CgroupLine(int(hier), names, path))
    return tuple(lines)


# --- The recorder's and the prover's helpers -------------------------------------------
# Processes of a running workload start and end all the time: each helper reads through
# the one reader above, and a process that vanishes (or cannot be read) gives an empty
# result instead of an error.

_TCP_LISTEN = "0A"
_UDP_BOUND = "07"


def _read(pid: int, name: str) -> str:
    try:
        return read_text(ProcFS().path(pid, name), errors="replace")
    except ProcUnreadable:
        return ""


def _entries(pid: int, name: str) -> list[str]:
    try:
        return ProcFS().entries(pid, name)
    except ProcUnreadable:
        return []


def status_of(pid: int) -> dict[str, str]:
    """The parsed ``/proc/PID/status`` ({} when the process is gone)."""
    return parse_status(_read(pid, "status"))


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is neither a zombie nor dead."""
    tail = _read(pid, "stat").rsplit(")", 1)[-1].split()
    return bool(tail) and tail[0] not in ("Z", "X")


def comm(pid: int) -> str:
    return _read(pid, "comm").strip()


def tracer_of(pid: int) -> int:
    """The pid tracing ``pid`` (0 when not traced)."""
    value = status_of(pid).get("TracerPid", "0")
    return int(value) if value.isdigit() else 0


def members(init_pid: int) -> set[int]:
    """Processes in the same cgroups as ``init_pid`` (the container's processes)."""
    own = _read(init_pid, "cgroup")
    if not own:
        return set()
    return {pid for pid in ProcFS().pids() if _read(pid, "cgroup") == own}


def children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in _entries(pid, "task"):
        out.update(int(p) for p in _read(pid, f"task/{task}/children").split())
    return out


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def socket_inodes(pid: int) -> set[str]:
    out: set[str] = set()
    proc = ProcFS()
    for fd in _entries(pid, "fd"):
        try:
            target = proc.link(pid, f"fd/{fd}")
        except ProcUnreadable:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def listening(pid: int, owners: set[int] | None = None) -> set[tuple[int, str]]:
    """(port, protocol) of TCP listeners and bound UDP sockets in ``pid``'s network namespace.

    With ``owners``, only sockets held open by those processes count (a shared
    namespace such as the host's has listeners of other programs).
    """
    inodes: set[str] | None = None
    if owners is not None:
        inodes = set().union(*(socket_inodes(p) for p in owners)) if owners else set()
    found: set[tuple[int, str]] = set()
    for name, proto, state in (
        ("tcp", "tcp", _TCP_LISTEN),
        ("tcp6", "tcp", _TCP_LISTEN),
        ("udp", "udp", _UDP_BOUND),
        ("udp6", "udp", _UDP_BOUND),
    ):
        for line in _read(pid, f"net/{name}").splitlines()[1:]:
            cols = line.split()
            if len(cols) < 10 or cols[3] != state:
                continue
            if inodes is not None and cols[9] not in inodes:
                continue
            found.add((int(cols[1].rsplit(":", 1)[1], 16), proto))
    return found


def passwd_ids(pid: int, user: str) -> tuple[int, int] | None:
    """uid/gid of ``user`` (``name``, ``uid``, ``name:group`` or ``uid:gid``) in the
    process's root file system, the way the engine resolves it (a uid without a
    passwd entry gets gid 0)."""
    name, _, group = user.partition(":")
    entry = _entry(_read(pid, "root/etc/passwd"), name)
    uid = _id(name, entry)
    if uid is None:
        return None
    if not group:
        return uid, int(entry[3]) if entry is not None else 0
    gid = _id(group, _entry(_read(pid, "root/etc/group"), group))
    return None if gid is None else (uid, gid)


def _id(key: str, entry: list[str] | None) -> int | None:
    if key.isdigit():
        return int(key)
    return int(entry[2]) if entry is not None else None


def _entry(text: str, key: str) -> list[str] | None:
    """The passwd/group line whose name (or, for a number, id) is ``key``."""
    for line in text.splitlines():
        cols = line.split(":")
        if len(cols) < 4 or not cols[2].isdigit():
            continue
        if cols[0] == key or (key.isdigit() and cols[2] == key):
            return cols
    return None


def directories(pid: int) -> list[tuple[int, str]]:
    """(inode, path) of a process's working directory and open directories (empty if it
    is gone): how a recorder resolves the relative paths it saw."""
    procfs = ProcFS()
    out = []
    links = [procfs.path(pid, "cwd"), *(procfs.path(pid, f"fd/{n}") for n in _entries(pid, "fd"))]
    for link in links:
        try:
            info = os.stat(link)  # noqa: PTH116 - str paths like the rest of this module
            if stat.S_ISDIR(info.st_mode):
                out.append((info.st_ino, os.readlink(link)))  # noqa: PTH115
        except OSError:
            continue
    return out
