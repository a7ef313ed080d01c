"""``harden audit`` with no ``--source``: every container engine found on this host.

An engine is found by its socket: Docker (``DOCKER_HOST`` or its default socket),
Podman's Docker-compatible socket, and the CRI sockets of containerd and CRI-O (and the
one ``CONTAINER_RUNTIME_ENDPOINT`` names, as crictl reads it). Each is audited through
its own API, kernel truth through /proc for all; the scans are joined into one.
``HARDEN_RUN`` names another mount of the host's ``/run`` (the fleet DaemonSet mounts
the node's at ``/host/run``): the well-known sockets are looked for there, so that no
runtime's socket path needs a volume of its own (which the kubelet would create as an
empty directory on a node without that runtime).

A container is reported once. Through the CRI a runtime lists only Kubernetes'
containers (containerd's ``k8s.io`` namespace), never Docker's own (``moby``), so a
containerd shared by Docker and the kubelet is not a second copy of Docker's
containers; a container that two APIs do list (Docker under cri-dockerd) is kept from
the CRI, which names its pod. A containerd socket whose CRI plugin is disabled (Docker's
own containerd) is not a CRI runtime and is left out.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harden.audit.sources.interface import Read, Scan, Source
from harden.audit.state.model import SourceKind, TargetKind, TargetState
from harden.progress import Progress
from harden.system.engine import DEFAULT_SOCKET, DEFAULT_TIMEOUT, Early

PODMAN_SOCKETS = ("/run/podman/podman.sock",)
CRI_SOCKETS = (
    ("containerd", "/run/containerd/containerd.sock"),
    ("containerd", "/run/k3s/containerd/containerd.sock"),
    ("crio", "/var/run/crio/crio.sock"),
)
NAMESPACE_LABEL = "io.kubernetes.pod.namespace"


@dataclass(frozen=True)
class Engine:
    kind: SourceKind  # ENGINE (Docker API) or CRI
    name: str  # docker, podman, containerd, crio, cri (named by CONTAINER_RUNTIME_ENDPOINT)
    socket: str  # a unix socket path; '' for Docker reached otherwise (tcp, ssh, contexts)


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)  # noqa: PTH116 - str paths
    except OSError:
        return False


def _unix(value: str) -> str:
    return value.removeprefix("unix://") if value.startswith(("unix://", "/")) else ""


def find(
    env: Mapping[str, str] | None = None, is_socket: Callable[[str], bool] = _is_socket
) -> list[Engine]:
    """The engines whose sockets exist here, each socket once, Docker first."""
    env = os.environ if env is None else env
    found: list[Engine] = []
    seen: set[str] = set()
    run = env.get("HARDEN_RUN", "").rstrip("/")

    def on_host(path: str) -> str:
        """A well-known socket path under HARDEN_RUN (/var/run is /run)."""
        for prefix in ("/run/", "/var/run/"):
            if run and path.startswith(prefix):
                return f"{run}/{path.removeprefix(prefix)}"
        return path

    def add(kind: SourceKind, name: str, path: str) -> None:
        real = os.path.realpath(path)
        if real not in seen and is_socket(path):
            seen.add(real)
            found.append(Engine(kind, name, path))

    host = env.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        found.append(Engine(SourceKind.ENGINE, "docker", ""))  # remote: the user named it
    else:
        add(SourceKind.ENGINE, "docker", _unix(host) or on_host(DEFAULT_SOCKET))
    runtime_dir = env.get("XDG_RUNTIME_DIR", "")
    for path in (*PODMAN_SOCKETS, *((f"{runtime_dir}/podman/podman.sock",) if runtime_dir else ())):
        add(SourceKind.ENGINE, "podman", on_host(path))
    named = _unix(env.get("CONTAINER_RUNTIME_ENDPOINT", ""))
    if named:
        add(SourceKind.CRI, "cri", named)
    for name, path in CRI_SOCKETS:
        add(SourceKind.CRI, name, on_host(path))
    return found


def in_namespaces(target: TargetState, namespaces: tuple[str, ...]) -> bool:
    """Whether a target belongs to one of the Kubernetes namespaces (by the kubelet's
    label); the host target belongs to none."""
    if target.kind is not TargetKind.CONTAINER:
        return False
    labels = target.fact("labels")
    value = labels.value.get(NAMESPACE_LABEL) if labels and isinstance(labels.value, dict) else None
    return value in namespaces


def join(scans: list[tuple[Engine, Scan]], namespaces: tuple[str, ...] = ()) -> Scan:
    """One scan of several engines: every container once (the CRI's copy first); with
    ``namespaces``, only containers of those Kubernetes namespaces."""
    if namespaces:
        scans = [
            (e, s)
            if e.kind is SourceKind.CRI
            else (
                e,
                dataclasses.replace(
                    s, targets=tuple(t for t in s.targets if in_namespaces(t, namespaces))
                ),
            )
            for e, s in scans
        ]
    if len(scans) == 1:
        return scans[0][1]
    ordered = sorted(scans, key=lambda item: item[0].kind is not SourceKind.CRI)
    targets: list[TargetState] = []
    seen: set[str] = set()
    for _engine, scan in ordered:
        for target in scan.targets:
            key = f"{target.kind}:{target.id}"
            if key not in seen:
                seen.add(key)
                targets.append(target)
    problems = tuple(f"{e.name}: {p}" for e, s in scans for p in s.problems)
    meta = dict(scans[0][1].meta)
    meta["engines"] = ", ".join(
        f"{e.name} ({s.meta.get('engine') or 'unavailable'})" for e, s in scans
    )
    return Scan(
        SourceKind.AUTO,
        tuple(targets),
        problems,
        engine_unavailable=all(s.engine_unavailable for _e, s in scans),
        endpoint=", ".join(s.endpoint or e.socket for e, s in scans),
        meta=meta,
    )


class DetectedSource:
    """``--source auto``: one source per engine found (see
    :class:`harden.audit.sources.interface.Source`), their items read as one list.

    The engines' sources are made at once, so that Docker's starts asking its engine
    while harden loads its rules. With NAMES only the Docker-API engines are audited
    (names are theirs); when none is found, Docker's source says what is missing.
    """

    kind = SourceKind.AUTO

    def __init__(
        self,
        names: tuple[str, ...] = (),
        namespaces: tuple[str, ...] = (),
        engines: list[Engine] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        found = find() if engines is None else engines
        found = [e for e in found if not names or e.kind is SourceKind.ENGINE]
        if not found:
            found = [Engine(SourceKind.ENGINE, "docker", "")]
        # ask the Docker-API engines now, and import their source while they answer
        early = {
            e.socket: Early(listing=not names, socket=_own_socket(e), timeout=timeout)
            for e in found
            if e.kind is SourceKind.ENGINE
        }
        from harden.audit.sources.docker.engine import EngineScan, EngineSource  # noqa: PLC0415

        self.namespaces = namespaces
        self._sizes: list[int] = []
        self.parts: list[tuple[Engine, Source[Any]]] = []
        for engine in found:
            if engine.kind is SourceKind.CRI:
                # gRPC costs ~0.2 s to import: only when a CRI socket is there
                from harden.audit.sources.cri.scan import CRIScan, CRISource  # noqa: PLC0415

                request = CRIScan(engine.socket, namespaces)
                self.parts.append((engine, CRISource(request, quiet_if_not_cri=True)))
            else:
                scan = EngineScan(names, not names, timeout)
                source = EngineSource(scan, socket=_own_socket(engine), early=early[engine.socket])
                self.parts.append((engine, source))

    def plan(self, progress: Progress) -> list[tuple[int, Any]]:
        items: list[tuple[int, Any]] = []
        self._sizes = []
        for index, (_engine, source) in enumerate(self.parts):
            mine = source.plan(progress)
            self._sizes.append(len(mine))
            items.extend((index, item) for item in mine)
        return items

    def label(self, item: tuple[int, Any]) -> str:
        index, inner = item
        return self.parts[index][1].label(inner)

    def read(self, item: tuple[int, Any]) -> Read:
        index, inner = item
        return self.parts[index][1].read(inner)

    def finish(self, reads: Sequence[Read]) -> Scan:
        """Each engine's scan from its own reads (in plan order), joined into one."""
        scans = []
        offset = 0
        for index, (engine, source) in enumerate(self.parts):
            mine = reads[offset : offset + self._sizes[index]]
            offset += self._sizes[index]
            scan = source.finish(mine)
            if getattr(source, "not_cri", False):
                continue  # e.g. Docker's own containerd: its containers are Docker's
            scans.append((engine, scan))
        if not scans:
            looked = ", ".join(e.socket for e, _s in self.parts)
            problem = f"no container engine found (sockets that serve none: {looked})"
            return Scan(SourceKind.AUTO, (), (problem,), engine_unavailable=True)
        return join(scans, self.namespaces)


def _own_socket(engine: Engine) -> str:
    """The unix socket to ask (Podman's, or Docker's found under HARDEN_RUN); '' for
    Docker at its usual place: DOCKER_HOST or its context decides."""
    if engine.name == "docker" and engine.socket in (
        DEFAULT_SOCKET,
        _unix(os.environ.get("DOCKER_HOST", "")),
    ):
        return ""
    return engine.socket
