"""``harden audit`` with no ``--source``: every container engine found on this host.

An engine is found by its socket: Docker (``DOCKER_HOST`` or its default socket),
Podman's Docker-compatible socket, and the CRI sockets of containerd and CRI-O (and the
one ``CONTAINER_RUNTIME_ENDPOINT`` names, as crictl reads it). Each is audited through
its own API, kernel truth through /proc for all; the scans are joined into one.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harden.audit.sources.interface import Scan
from harden.audit.state.model import SourceKind, TargetKind, TargetState
from harden.system.engine import DEFAULT_SOCKET

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

    def add(kind: SourceKind, name: str, path: str) -> None:
        real = os.path.realpath(path)
        if real not in seen and is_socket(path):
            seen.add(real)
            found.append(Engine(kind, name, path))

    host = env.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        found.append(Engine(SourceKind.ENGINE, "docker", ""))  # remote: the user named it
    else:
        add(SourceKind.ENGINE, "docker", _unix(host) or DEFAULT_SOCKET)
    runtime_dir = env.get("XDG_RUNTIME_DIR", "")
    for path in (*PODMAN_SOCKETS, *((f"{runtime_dir}/podman/podman.sock",) if runtime_dir else ())):
        add(SourceKind.ENGINE, "podman", path)
    named = _unix(env.get("CONTAINER_RUNTIME_ENDPOINT", ""))
    if named:
        add(SourceKind.CRI, "cri", named)
    for name, path in CRI_SOCKETS:
        add(SourceKind.CRI, name, path)
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
