"""Cgroup limits, device rules and member processes, on cgroup v1, v2 and hybrid hosts.

For each controller the v1 hierarchy is used when the process is in one (hybrid hosts
put the limits there), else the v2 unified tree. Values are normalised so that rules do
not care which version a host runs: 0 means "no limit" everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harden.audit.sources.proc.mounts import HostMounts
from harden.system.proc import CgroupLine, ProcFS, ProcUnreadable

UNLIMITED_V1 = 1 << 62  # memory.limit_in_bytes at or above this means "no limit"
MAX_PROCESSES = 4096

# Device cgroup rules runc/crun always allow (null, zero, full, random, urandom, tty,
# console, ptmx, tun, pts, and mknod of anything): not "devices passed in".
RUNTIME_DEFAULT_DEVICES = frozenset(
    {
        "c *:* m",
        "b *:* m",
        "c 1:3 rwm",
        "c 1:5 rwm",
        "c 1:7 rwm",
        "c 1:8 rwm",
        "c 1:9 rwm",
        "c 5:0 rwm",
        "c 5:1 rwm",
        "c 5:2 rwm",
        "c 10:200 rwm",
        "c 136:* rwm",
    }
)


@dataclass(frozen=True)
class Dir:
    """One cgroup directory (a plain string path) and whether it is in the v2 tree."""

    path: str
    v2: bool

    def file(self, name: str) -> str:
        return f"{self.path}/{name}"


@dataclass(frozen=True)
class CgroupDirs:
    """The directory of each controller for one process (None where not available)."""

    memory: Dir | None
    pids: Dir | None
    cpu: Dir | None
    devices: Dir | None  # v1 only: v2 device rules are an eBPF program
    procs: Dir | None


def locate(lines: tuple[CgroupLine, ...], host: HostMounts, sys_root: str) -> CgroupDirs:
    v1 = host.cgroup_v1()
    v2_mount = host.cgroup_v2()
    by_controller: dict[str, str] = {}
    unified: str | None = None
    for line in lines:
        if not line.controllers:
            unified = line.path
        for name in line.controllers:
            by_controller[name] = line.path

    def rebase(mount_point: str, cg_path: str) -> str:
        # mount points come from the host's mountinfo; sys_root lets tests use fixtures
        if mount_point.startswith("/sys/"):
            mount_point = f"{sys_root}/{mount_point.removeprefix('/sys/')}"
        return f"{mount_point.rstrip('/')}/{cg_path.strip('/')}".rstrip("/")

    def dir_for(controller: str, *, v2_fallback: bool = True) -> Dir | None:
        if controller in by_controller and controller in v1:
            return Dir(rebase(v1[controller], by_controller[controller]), v2=False)
        if v2_fallback and unified is not None and v2_mount is not None:
            return Dir(rebase(v2_mount, unified), v2=True)
        return None

    return CgroupDirs(
        memory=dir_for("memory"),
        pids=dir_for("pids"),
        cpu=dir_for("cpu"),
        devices=dir_for("devices", v2_fallback=False),
        procs=dir_for("pids") or dir_for("name=systemd"),
    )


def _int(proc: ProcFS, path: str) -> int:
    return int(proc.read_file(path).strip())


def memory_limit(proc: ProcFS, d: Dir) -> int:
    if d.v2:
        raw = proc.read_file(d.file("memory.max")).strip()
        return 0 if raw == "max" else int(raw)
    value = _int(proc, d.file("memory.limit_in_bytes"))
    return 0 if value >= UNLIMITED_V1 else value


def pids_limit(proc: ProcFS, d: Dir) -> int:
    raw = proc.read_file(d.file("pids.max")).strip()
    return 0 if raw == "max" else int(raw)


def cpu_millis(proc: ProcFS, d: Dir) -> int:
    if d.v2:
        quota, _, period = proc.read_file(d.file("cpu.max")).strip().partition(" ")
        if quota == "max":
            return 0
        return int(quota) * 1000 // int(period or "100000")
    quota_v1 = _int(proc, d.file("cpu.cfs_quota_us"))
    if quota_v1 <= 0:
        return 0
    return quota_v1 * 1000 // _int(proc, d.file("cpu.cfs_period_us"))


def cpu_shares(proc: ProcFS, d: Dir) -> int:
    """Shares as ``docker --cpu-shares`` counts them; 0 when the default is in effect."""
    if d.v2:
        weight = _int(proc, d.file("cpu.weight"))
        return 0 if weight == 100 else round(2 + (weight - 1) * 262142 / 9999)
    shares = _int(proc, d.file("cpu.shares"))
    return 0 if shares == 1024 else shares


def device_rules(proc: ProcFS, d: Dir) -> list[str]:
    return [line.strip() for line in proc.read_file(d.file("devices.list")).splitlines()]


def devices_passed(rules: list[str], resolve: Callable[[str], str]) -> list[dict[str, Any]]:
    """Rules beyond the runtime defaults, as ``{host_path, container_path, permissions}``."""
    out = []
    for rule in rules:
        if rule in RUNTIME_DEFAULT_DEVICES or rule.startswith("a "):
            continue
        kind, number, perms = [*rule.split(), "", "", ""][:3]
        out.append(
            {"host_path": resolve(f"{kind} {number}"), "container_path": "", "permissions": perms}
        )
    return out


def member_pids(proc: ProcFS, d: Dir) -> list[int]:
    """Every process in the cgroup and its descendant cgroups (bounded)."""
    pids: list[int] = []
    todo = [d.path]
    while todo:
        current = todo.pop()
        pids.extend(int(p) for p in proc.read_file(f"{current}/cgroup.procs").split())
        if len(pids) >= MAX_PROCESSES:
            raise ProcUnreadable(f"{d.path}: more than {MAX_PROCESSES} processes; not listed")
        try:
            with os.scandir(current) as entries:
                todo.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
        except OSError as exc:
            raise ProcUnreadable(f"{current}: {exc.strerror or exc}") from None
    return sorted(set(pids))
