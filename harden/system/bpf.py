"""The machine side of the eBPF recorder: whether bpftrace can run here, tracefs and its
tracepoints, and the cgroup v2 ids the recorder's programs filter on in the kernel."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harden.system import proc, tools
from harden.system.proc import ProcUnreadable, read_text

TRACEFS = Path("/sys/kernel/tracing")
BTF = Path("/sys/kernel/btf/vmlinux")
CAP_TRACEPOINT = TRACEFS / "events" / "capability" / "cap_capable"


def unavailable() -> str | None:
    """Why the eBPF backend cannot run here (None: it can)."""
    if shutil.which("bpftrace") is None:
        return "bpftrace is not installed (apt-get install bpftrace)"
    if os.geteuid() != 0:
        return "loading BPF programs needs root"
    if not BTF.is_file():
        return "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
    problem = mount_tracefs()
    if problem:
        return problem
    return None


def mount_tracefs() -> str | None:
    """Mount tracefs at /sys/kernel/tracing if it is not (bpftrace finds tracepoints there)."""
    if (TRACEFS / "events").is_dir():
        return None
    done = tools.run(["mount", "-t", "tracefs", "tracefs", str(TRACEFS)], timeout=30)
    if not done.ok or not (TRACEFS / "events").is_dir():
        return f"tracefs is not mounted at {TRACEFS} and mounting it failed"
    return None


def cgroup_v2_mount() -> Path | None:
    """Where the cgroup v2 (unified) hierarchy is mounted, also on hybrid hosts."""
    try:
        text = read_text("/proc/self/mountinfo")
    except ProcUnreadable:
        return None
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            return Path(left.split()[4])
    return None


def cgroup_id(pid: int) -> int | None:
    """The cgroup v2 id (the inode of its directory) of a process, unless it is the root."""
    mount = cgroup_v2_mount()
    if mount is None:
        return None
    try:
        own = read_text(proc.ProcFS().path(pid, "cgroup"))
    except ProcUnreadable:
        return None
    for line in own.splitlines():
        if line.startswith("0::"):
            path = line[3:].strip()
            if path in ("", "/"):
                return None
            try:
                return (mount / path.lstrip("/")).stat().st_ino
            except OSError:
                return None
    return None


def exit_points() -> frozenset[str]:
    """Syscalls whose exit tracepoint this kernel has."""
    folder = TRACEFS / "events" / "syscalls"
    try:
        return frozenset(
            e.name.removeprefix("sys_exit_") for e in os.scandir(folder)
            if e.name.startswith("sys_exit_")
        )  # fmt: skip
    except OSError:
        return frozenset()
