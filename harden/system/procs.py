"""The few /proc facts the recorder and the prover read about a workload's processes.

Every function tolerates processes that vanish while being read (they return empty
results), because containers start and stop processes all the time.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
_TCP_LISTEN = "0A"
_UDP_BOUND = "07"


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    return (PROC / str(pid)).is_dir() and _state(pid) not in ("Z", "X", "")


def _state(pid: int) -> str:
    stat = _read(PROC / str(pid) / "stat")
    tail = stat.rsplit(")", 1)[-1].split()
    return tail[0] if tail else ""


def comm(pid: int) -> str:
    return _read(PROC / str(pid) / "comm").strip()


def _status(pid: int) -> dict[str, str]:
    fields = {}
    for line in _read(PROC / str(pid) / "status").splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def tracer_of(pid: int) -> int:
    """The pid tracing ``pid`` (0 when not traced)."""
    value = _status(pid).get("TracerPid", "0")
    return int(value) if value.isdigit() else 0


def ids(pid: int) -> tuple[int, int] | None:
    """Real uid and gid of a process."""
    status = _status(pid)
    try:
        return int(status["Uid"].split()[0]), int(status["Gid"].split()[0])
    except (KeyError, IndexError, ValueError):
        return None


def cgroup(pid: int) -> str:
    return _read(PROC / str(pid) / "cgroup")


def members(init_pid: int) -> set[int]:
    """Processes in the same cgroups as ``init_pid`` (the container's processes)."""
    own = cgroup(init_pid)
    if not own:
        return set()
    out = set()
    for entry in os.scandir(PROC):
        if entry.name.isdigit() and cgroup(int(entry.name)) == own:
            out.add(int(entry.name))
    return out


def children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in (PROC / str(pid) / "task").glob("*/children"):
        out.update(int(p) for p in _read(task).split())
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
    fd_dir = PROC / str(pid) / "fd"
    try:
        entries = list(os.scandir(fd_dir))
    except OSError:
        return out
    for entry in entries:
        try:
            target = str(Path(entry.path).readlink())
        except OSError:
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
        for line in _read(PROC / str(pid) / "net" / name).splitlines()[1:]:
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
    etc = PROC / str(pid) / "root" / "etc"
    entry = _entry(etc / "passwd", name)
    uid = _id(name, entry)
    if uid is None:
        return None
    if not group:
        return uid, int(entry[3]) if entry is not None else 0
    gid = _id(group, _entry(etc / "group", group))
    return None if gid is None else (uid, gid)


def _id(key: str, entry: list[str] | None) -> int | None:
    if key.isdigit():
        return int(key)
    return int(entry[2]) if entry is not None else None


def _entry(path: Path, key: str) -> list[str] | None:
    """The passwd/group line whose name (or, for a number, id) is ``key``."""
    for line in _read(path).splitlines():
        cols = line.split(":")
        if len(cols) < 4 or not cols[2].isdigit():
            continue
        if cols[0] == key or (key.isdigit() and cols[2] == key):
            return cols
    return None
