"""Turning recorded file paths into spec entries: grouped lists and scratch space.

Pure: no I/O.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harden.runtime.record.observe import Observations

COLLAPSE_OVER = 6  # more files than this in one directory become "dir/*"
NEVER_COLLAPSE = frozenset({"/", "/etc", "/root", "/home", "/proc", "/sys", "/dev", "/run"})
_PER_PROCESS = (
    (re.compile(r"^/proc/\d+/task/\d+(?=/|$)"), "/proc/*/task/*"),
    (re.compile(r"^/proc/self/task/\d+(?=/|$)"), "/proc/self/task/*"),
    (re.compile(r"^/proc/\d+(?=/|$)"), "/proc/*"),
    (re.compile(r"^/dev/pts/\d+$"), "/dev/pts/*"),
    # names made per run (PostgreSQL's /dev/shm/PostgreSQL.<random>, mkstemp-style files)
    (re.compile(r"^(?P<keep>/(?:dev/shm|tmp|run|var/tmp)/(?:[^/]*/)*[^/]*?)\d{6,}$"), r"\g<keep>*"),
)
_NOT_ROOTFS = ("/dev/", "/proc/", "/sys/")
_ENGINE_FILES = frozenset({"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"})


def normalise(path: str) -> str:
    """A path with per-process parts (``/proc/123``, ``/dev/pts/4``) as globs, and /sys
    components naming a device address (``0000:00:1f.2``, per host, and a ':' no SPO
    profile can hold) as ``*``."""
    for pattern, replacement in _PER_PROCESS:
        path = pattern.sub(replacement, path)
    if path.startswith("/sys/") and ":" in path:
        path = "/".join("*" if ":" in part else part for part in path.split("/"))
    return path


def collapse(facts: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Paths grouped: many files in one directory become ``dir/*``."""
    merged: dict[str, set[str]] = {}
    for path, programs in facts.items():
        merged.setdefault(normalise(path), set()).update(programs)
    by_dir: dict[str, list[str]] = {}
    for path in merged:
        by_dir.setdefault(posixpath.dirname(path) or "/", []).append(path)
    out: dict[str, set[str]] = {}
    for folder, members in by_dir.items():
        if len(members) > COLLAPSE_OVER and folder not in NEVER_COLLAPSE:
            out[f"{folder.rstrip('/')}/*"] = set().union(*(merged[m] for m in members))
        else:
            out.update({m: merged[m] for m in members})
    return out


@dataclass(frozen=True)
class ScratchPlan:
    """Where the workload needs to write, and whether the root can be read-only."""

    tmpfs: dict[str, str]  # directory -> why
    read_only: bool
    reason: str


def _under(path: str, folders: Iterable[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _on_rootfs(path: str, volumes: tuple[str, ...]) -> bool:
    return not (path.startswith(_NOT_ROOTFS) or path in _ENGINE_FILES or _under(path, volumes))


def scratch_plan(obs: Observations, volumes: tuple[str, ...] = ()) -> ScratchPlan:
    """tmpfs directories for every write to the root file system, when that is safe."""
    why: dict[str, str] = {}
    for path in sorted(obs.writes):
        if _on_rootfs(path, volumes):
            why.setdefault(posixpath.dirname(path) or "/", f"wrote {path}")
    for path in sorted(obs.created_dirs):
        if _on_rootfs(path, volumes):
            why.setdefault(posixpath.dirname(path) or "/", f"created {path}")
    if not why:
        return ScratchPlan({}, True, "no writes to the root file system seen")
    if "/" in why:
        return ScratchPlan({}, False, f"{why['/']}: directly under /, no tmpfs can cover it")
    top = {d: w for d, w in why.items() if not _under(d, [o for o in why if o != d])}
    created = set(obs.created_dirs)
    for folder, wrote in top.items():
        hidden = sorted(
            p
            for p in obs.reads
            if _under(p, [folder]) and p not in obs.writes and not _under(p, created)
        )
        if hidden:
            return ScratchPlan(
                {},
                False,
                f"{wrote} but also reads {hidden[0]} there: a tmpfs on {folder} would "
                "hide it; mount a volume there, then set read_only_rootfs: true",
            )
    return ScratchPlan(
        {d: f"{w}; use a volume instead if the data must persist" for d, w in top.items()},
        True,
        "writes only to the tmpfs directories under files.tmpfs",
    )
