"""/proc/PID/mountinfo: parsing, host-path resolution and what a container's mounts mean.

A bind mount shows in the container's mountinfo as (device, path within that device).
The host path is found by matching the device against the host's own mountinfo: this
works for any runtime and needs no engine. Masked and read-only kernel paths are told
apart from host mounts by their shape (a ``/null`` bind or a read-only tmpfs over a
/proc or /sys path; a read-only proc bind).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harden.audit.state.facts import mounts_in_order

_OCTAL = re.compile(r"\\([0-7]{3})")
_KERNEL_TREES = ("/proc/", "/sys/")
# Mounts the runtime manages itself; shown by other facts (namespaces.ipc), not as host paths.
_RUNTIME_DESTINATIONS = frozenset({"/dev/shm", "/dev/mqueue"})  # noqa: S108 - container paths


def unescape(field: str) -> str:
    """Undo the kernel's octal escapes (``\\040`` for a space) in mountinfo paths."""
    if "\\" not in field:
        return field
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


@dataclass(frozen=True, slots=True)
class MountEntry:
    device: str  # "major:minor"
    root: str  # path inside the device's filesystem
    mount_point: str
    options: str  # per-mount options, comma-separated ("ro,nosuid,...")
    optional: tuple[str, ...]  # shared:N, master:N, propagate_from:N, unbindable
    fstype: str
    super_options: str

    @property
    def read_only(self) -> bool:
        return "ro" in self.options.split(",")

    @property
    def propagation(self) -> str:
        tags = {t.split(":", 1)[0] for t in self.optional}
        if "shared" in tags:
            return "shared"
        if "master" in tags:
            return "slave"
        return "private"


def parse_mountinfo(text: str) -> tuple[MountEntry, ...]:
    """Lines ``id parent major:minor root point options [optional...] - fstype source super``."""
    entries = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            dash = fields.index("-", 6)
            entries.append(
                MountEntry(
                    fields[2],
                    unescape(fields[3]),
                    unescape(fields[4]),
                    fields[5],
                    tuple(fields[6:dash]),
                    fields[dash + 1],
                    fields[dash + 3],
                )
            )
        except (ValueError, IndexError):
            continue  # a line the kernel would never write; skipped rather than guessed
    return tuple(entries)


def _within(path: str, prefix: str) -> bool:
    return prefix in ("/", path) or path.startswith(prefix.rstrip("/") + "/")


class HostMounts:
    """The host's mount table, indexed for host-path resolution and cgroup lookups.

    Per device, the host mount of each filesystem root (the shortest mount point when a
    root is mounted twice): resolving a container mount walks up its root's parents,
    a few dictionary lookups, whatever the size of the host's table (a host running
    hundreds of containers has thousands of mounts on one device).
    """

    def __init__(self, entries: Iterable[MountEntry]) -> None:
        self.entries = tuple(entries)
        self._roots: dict[str, dict[str, MountEntry]] = {}
        self._points: frozenset[str] | None = None
        for entry in self.entries:
            roots = self._roots.setdefault(entry.device, {})
            known = roots.get(entry.root)
            if known is None or len(entry.mount_point) < len(known.mount_point):
                roots[entry.root] = entry
        self._v1: dict[str, str] = {}
        for entry in self.entries:
            if entry.fstype == "cgroup":
                for opt in entry.super_options.split(","):
                    if opt not in ("rw", "ro"):
                        self._v1.setdefault(opt, entry.mount_point)

    def host_path(self, entry: MountEntry) -> str | None:
        """Where the container mount's source lives on the host, or None if not a host path."""
        roots = self._roots.get(entry.device)
        if not roots:
            return None
        best = None
        root = entry.root
        while best is None:  # the host mount of the longest root that holds entry.root
            best = roots.get(root)
            if root == "/":
                break
            root = root.rsplit("/", 1)[0] or "/"
        if best is None:
            return None
        rest = entry.root[len(best.root.rstrip("/")) :] if best.root != "/" else entry.root
        joined = best.mount_point.rstrip("/") + "/" + rest.lstrip("/")
        return joined if joined == "/" else joined.rstrip("/")

    def mount_points(self) -> frozenset[str]:
        """Where the host has something mounted."""
        if self._points is None:
            self._points = frozenset(e.mount_point for e in self.entries)
        return self._points

    def cgroup_v1(self) -> dict[str, str]:
        """Controller (``memory``, ``pids``, ``name=systemd``) -> mount point."""
        return self._v1

    def cgroup_v2(self) -> str | None:
        for entry in self.entries:
            if entry.fstype == "cgroup2":
                return entry.mount_point
        return None


@dataclass(frozen=True)
class ContainerMounts:
    rootfs_read_only: bool | None
    mounts: list[dict[str, Any]]
    masked: list[str]
    readonly: list[str]


def _is_mask(entry: MountEntry) -> bool:
    if not entry.mount_point.startswith(_KERNEL_TREES):
        return False
    return entry.root == "/null" or (entry.fstype == "tmpfs" and entry.read_only)


def _is_runtime_managed(entry: MountEntry, host_path: str, container_id: str) -> bool:
    if container_id and container_id in host_path:
        return True  # /etc/hosts, hostname, resolv.conf, shm from the engine's container dir
    if entry.fstype in ("cgroup", "cgroup2") and entry.mount_point.startswith("/sys/fs/cgroup"):
        return True
    return entry.mount_point in _RUNTIME_DESTINATIONS and entry.fstype in ("tmpfs", "mqueue")


def container_mounts(
    entries: Iterable[MountEntry], host: HostMounts, container_id: str
) -> ContainerMounts:
    rootfs_ro: bool | None = None
    mounts: list[dict[str, Any]] = []
    masked: list[str] = []
    readonly: list[str] = []
    for entry in entries:
        if entry.mount_point == "/":
            rootfs_ro = entry.read_only
            continue
        if _is_mask(entry):
            masked.append(entry.mount_point)
            continue
        if entry.fstype == "proc" and entry.read_only and entry.mount_point.startswith("/proc/"):
            readonly.append(entry.mount_point)
            continue
        host_path = host.host_path(entry)
        if host_path is None or _is_runtime_managed(entry, host_path, container_id):
            continue
        mounts.append(
            {
                "source": host_path,
                "destination": entry.mount_point,
                "type": "bind",
                "rw": not entry.read_only,
                "propagation": entry.propagation,
                "within": "",
            }
        )
    points = host.mount_points()
    return ContainerMounts(rootfs_ro, _folded(mounts, points), sorted(masked), sorted(readonly))


def _folded(mounts: list[dict[str, Any]], points: frozenset[str]) -> list[dict[str, Any]]:
    """Mounts that a recursive bind brought along (where the host has a mount under the
    bind's source, at the same place under its destination) name that bind in
    ``within``; the ones that add nothing to it (no more writable, same propagation) are
    left out: ``-v /:/host`` is one mount, not the host's whole table."""
    out: list[dict[str, Any]] = []
    parents: list[dict[str, Any]] = []  # the enclosing mounts of the current one, outermost first
    for mount in sorted(mounts, key=lambda m: m["destination"]):
        while parents and not _within(mount["destination"], parents[-1]["destination"]):
            parents.pop()
        parent = next((p for p in reversed(parents) if _brought(mount, p, points)), None)
        if parent is not None:
            if (
                not (mount["rw"] and not parent["rw"])
                and mount["propagation"] == parent["propagation"]
            ):
                continue  # adds nothing to the bind that brought it
            mount["within"] = parent["destination"]
        out.append(mount)
        parents.append(mount)
    return mounts_in_order(out)


def _brought(mount: dict[str, Any], parent: dict[str, Any], points: frozenset[str]) -> bool:
    """``mount`` is where a recursive bind of ``parent`` puts one of the host's mounts."""
    inside = str(mount["destination"])[len(str(parent["destination"]).rstrip("/")) :]
    return str(parent["source"]).rstrip("/") + inside in points
