"""Reading /proc: small parsers over text, and a reader that turns OS errors into reasons.

Everything here is read-only and never enters a container: no exec, no setns, no
ptrace, and no path resolution through /proc/PID/root.
"""

from __future__ import annotations

import errno
import os
import re
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


def read_text(path: str, limit: int = 4 << 20) -> str:
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
    return b"".join(chunks).decode("utf-8", errors="surrogateescape")


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

    def path(self, pid: int | str, name: str) -> str:
        return f"{self.proc}/{pid}/{name}"

    def read(self, pid: int | str, name: str) -> str:
        return read_text(self.path(pid, name))

    def read_file(self, path: str) -> str:
        return read_text(path, 1 << 20)

    def namespace(self, pid: int | str, kind: str) -> int:
        """The inode of a process's namespace (``pid:[4026531836]`` -> 4026531836)."""
        path = self.path(pid, f"ns/{kind}")
        try:
            target = os.readlink(path)  # noqa: PTH115 - str paths: pathlib is slow here
        except OSError as exc:
            raise _reason(path, exc) from None
        return int(target[target.index("[") + 1 : -1])

    def pids(self) -> list[int]:
        return sorted(int(n) for n in os.listdir(self.proc) if n.isdigit())  # noqa: PTH208


_STATUS_KEYS = re.compile(
    r"^(Name|PPid|Uid|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):[ \t]*(.*)$",
    re.MULTILINE,
)


def parse_status(text: str) -> dict[str, str]:
    """The lines of ``/proc/PID/status`` harden reads, as ``{"CapEff": "000001ff", ...}``."""
    return {key: value.rstrip() for key, value in _STATUS_KEYS.findall(text)}


def status_uid(status: dict[str, str]) -> int:
    """The effective uid from a parsed status (``Uid: real effective saved fs``)."""
    return int(status["Uid"].split()[1])


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
