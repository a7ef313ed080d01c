"""``--source proc``: containers of any runtime, found and read through /proc alone.

A process belongs to a container when its cgroup path carries a runtime's container ID
(Docker, Podman, containerd/CRI and nerdctl, CRI-O, LXC). The container's main process
is the member whose parent is not a member. No engine is asked anything, so there is no
declared layer: rules that need one are skipped, not guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from harden.audit.sources.docker.daemon import host_target, local_daemon
from harden.audit.sources.interface import Read, Scan
from harden.audit.sources.proc import kernel
from harden.audit.sources.proc.host import HostContext, host_context
from harden.audit.state.model import (
    Gap,
    GapKind,
    Layer,
    LayerBuilder,
    SourceKind,
    TargetKind,
    TargetState,
    build_state,
)
from harden.progress import Progress
from harden.system.proc import ProcFS, ProcUnreadable, parse_cgroup, parse_status

_HEX = r"([0-9a-f]{64})"
_PATTERNS = (
    (re.compile(rf"/docker[-/]{_HEX}"), "docker"),
    (re.compile(rf"libpod-(?:conmon-)?{_HEX}"), "podman"),
    (re.compile(rf"cri-containerd-{_HEX}"), "containerd"),
    (re.compile(rf"crio-(?:conmon-)?{_HEX}"), "crio"),
    (re.compile(rf"nerdctl-{_HEX}"), "containerd"),
    (re.compile(rf"/kubepods[^:]*/{_HEX}"), "containerd"),
    (re.compile(r"/lxc(?:\.payload)?[./]([^/]+)"), "lxc"),
)


@dataclass(frozen=True)
class Found:
    id: str
    runtime: str
    pids: tuple[int, ...]


def container_of(cgroup_text: str) -> tuple[str, str] | None:
    """(container ID, runtime) from a /proc/PID/cgroup text, or None for host processes."""
    for line in parse_cgroup(cgroup_text):
        for pattern, runtime in _PATTERNS:
            match = pattern.search(line.path)
            if match:
                return match.group(1), runtime
    return None


def discover(proc: ProcFS) -> list[Found]:
    groups: dict[tuple[str, str], list[int]] = {}
    for pid in proc.pids():
        try:
            found = container_of(proc.read(pid, "cgroup"))
        except ProcUnreadable:
            continue  # exited while listing, or hidden (hidepid): not ours to report
        if found is not None:
            groups.setdefault(found, []).append(pid)
    return [Found(cid, runtime, tuple(pids)) for (cid, runtime), pids in sorted(groups.items())]


def main_pid(proc: ProcFS, pids: tuple[int, ...]) -> int:
    members = set(pids)
    for pid in pids:
        try:
            parent = int(parse_status(proc.read(pid, "status")).get("PPid", "0"))
        except (ProcUnreadable, ValueError):
            continue
        if parent not in members:
            return pid
    return pids[0]


def _container(found: Found, host: HostContext) -> TargetState:
    proc = host.proc
    pid = main_pid(proc, found.pids)
    effective = kernel.collect(pid, host, found.id)
    name = found.id[:12] if len(found.id) == 64 else found.id
    origin = f"/proc/{pid}/cgroup"
    effective.set("id", found.id, origin)
    effective.set("name", name, f"{origin} (short ID; names need the engine)")
    effective.set("runtime", found.runtime, f"{origin} (cgroup path pattern)")
    declared = LayerBuilder(Layer.DECLARED)
    declared.gaps["declared.*"] = Gap(
        GapKind.UNAVAILABLE, "--source proc reads no configuration (use the engine source)"
    )
    return build_state(TargetKind.CONTAINER, found.id, name, SourceKind.PROC, declared, effective)


class ProcSource:
    """``--source proc`` (see :class:`harden.audit.sources.interface.Source`)."""

    kind = SourceKind.PROC

    def __init__(self, proc: ProcFS | None = None) -> None:
        self.proc = proc or ProcFS()
        self._host: HostContext | None = None

    def plan(self, progress: Progress) -> list[Found]:
        self._host = host_context(self.proc)
        return discover(self.proc)

    def label(self, item: Found) -> str:
        return item.id[:12]

    def read(self, item: Found) -> Read:
        assert self._host is not None
        return Read([_container(item, self._host)])

    def finish(self, reads: Sequence[Read]) -> Scan:
        assert self._host is not None
        no_api = Gap(GapKind.UNAVAILABLE, "--source proc does not ask the engine API")
        audited = local_daemon(self.proc)
        host = host_target(SourceKind.PROC, None, audited, info_gap=no_api, proc=self.proc)
        targets = [*(t for r in reads for t in r.targets), host]
        problem = self._host.namespace_problem
        problems = (f"host namespaces: {problem}",) if problem else ()
        return Scan(SourceKind.PROC, tuple(targets), problems)
