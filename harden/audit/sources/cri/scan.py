"""``--source cri``: the pods of a Kubernetes node, through the runtime's CRI socket.

Declared state from the CRI (the verbose container status: the OCI spec the runtime
applied and, from containerd, the kubelet's request), kernel truth from /proc through
the same collector as every other live source. Read-only; a container that vanishes
during the scan becomes a target whose facts are failed, with the reason.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harden.audit.sources.cri import declared as cri_declared
from harden.audit.sources.cri import volumes
from harden.audit.sources.cri.client import CRIClient, Status
from harden.audit.sources.cri.declared import CRIContainer
from harden.audit.sources.interface import Progress, Scan, no_progress, unreadable
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
from harden.system.engine import EngineError, Failure

# Where each runtime serves the CRI (the kubelet's --container-runtime-endpoint).
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
CRIO_SOCKET = "/var/run/crio/crio.sock"
_RUNTIME_NAMES = {"cri-o": "crio"}


def default_socket(env: Mapping[str, str] | None = None) -> str:
    """CONTAINER_RUNTIME_ENDPOINT (as crictl reads it), else the first CRI socket here."""
    env = os.environ if env is None else env
    named = env.get("CONTAINER_RUNTIME_ENDPOINT", "")
    if named.startswith(("unix://", "/")):
        return named.removeprefix("unix://")
    for path in (CONTAINERD_SOCKET, CRIO_SOCKET):
        if os.path.exists(path):  # noqa: PTH110 - str paths like the rest of the socket code
            return path
    return CONTAINERD_SOCKET


@dataclass(frozen=True)
class CRIScan:
    socket: str
    namespaces: tuple[str, ...] = ()  # Kubernetes namespaces; empty: every namespace


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(value).items()}


def _pod_volume_types(
    items: Iterable[tuple[str, Any]], uids: dict[str, str]
) -> dict[str, set[str]]:
    """Sandbox id -> the volume kinds its running containers mount."""
    out: dict[str, set[str]] = {}
    for sandbox_id, status in items:
        kinds = out.setdefault(sandbox_id, set())
        for mount in status.mounts:
            found = volumes.kind(mount.host_path, uids.get(sandbox_id, ""))
            if found is not None:
                kinds.add(found)
    return out


def scan(request: CRIScan, progress: Progress = no_progress) -> Scan:
    """The node's pods; an unusable socket gives a scan that says why (engine unavailable)."""
    try:
        return scan_found(request, progress)
    except EngineError as exc:
        return unavailable(exc, f"unix://{request.socket}")


def scan_found(request: CRIScan, progress: Progress = no_progress) -> Scan:
    """As :func:`scan`, but a socket that serves no CRI raises :class:`NotCRI` (detection
    leaves such a socket out), and one that cannot be reached raises its EngineError."""
    client = CRIClient(request.socket)
    try:
        return _scan(client, request, progress)
    finally:
        client.close()


def unavailable(exc: EngineError, endpoint: str) -> Scan:
    problem = f"the CRI runtime cannot be used: {exc.reason}"
    return Scan(SourceKind.CRI, (), (problem,), engine_unavailable=True, endpoint=endpoint)


def _scan(client: CRIClient, request: CRIScan, progress: Progress) -> Scan:
    runtime = client.version()
    runtime_name = _RUNTIME_NAMES.get(runtime.name, runtime.name)
    pods = {s.id: s for s in client.sandboxes()}
    wanted = [
        c
        for c in client.containers()
        if not request.namespaces
        or (
            c.pod_sandbox_id in pods
            and pods[c.pod_sandbox_id].metadata.namespace in request.namespaces
        )
    ]
    statuses = list(client.container_statuses([c.id for c in wanted]))
    uids = {sid: s.metadata.uid for sid, s in pods.items()}
    read = [
        (c.pod_sandbox_id, s.message)
        for c, s in zip(wanted, statuses, strict=True)
        if isinstance(s, Status)
    ]
    kinds = _pod_volume_types(read, uids)
    sandbox_ids = list(dict.fromkeys(c.pod_sandbox_id for c in wanted))
    sandboxes = {
        sid: status.info
        for sid, status in zip(sandbox_ids, client.sandbox_statuses(sandbox_ids), strict=True)
        if isinstance(status, Status)
    }
    host = host_context()
    targets: list[TargetState] = []
    for done, (listed, status) in enumerate(zip(wanted, statuses, strict=True)):
        pod = pods.get(listed.pod_sandbox_id)
        name = listed.id
        if pod is not None:
            name = f"{pod.metadata.namespace}/{pod.metadata.name}/{listed.metadata.name}"
        progress(done, len(wanted), name)
        if isinstance(status, EngineError):
            reason = status.reason
            if status.failure is Failure.NOT_FOUND:
                reason = "the container was removed during the scan"
            targets.append(unreadable(listed.id, name, SourceKind.CRI, reason))
            continue
        container = _container(listed, status, pod, runtime_name, kinds)
        container = dataclasses.replace(container, sandbox=sandboxes.get(listed.pod_sandbox_id, {}))
        targets.append(_target(container, status, host))
    progress(len(wanted), len(wanted), "")
    meta = {
        "hostname": socket.gethostname(),
        "kernel": os.uname().release,
        "engine": f"{runtime.name} {runtime.version} (CRI {runtime.api_version})",
        "euid": str(os.geteuid()),
    }
    problems = (f"host namespaces: {host.namespace_problem}",) if host.namespace_problem else ()
    return Scan(SourceKind.CRI, tuple(targets), problems, endpoint=client.endpoint, meta=meta)


def _container(
    listed: Any, status: Status, pod: Any, runtime: str, kinds: dict[str, set[str]]
) -> CRIContainer:
    message = status.message
    labels = _str_map(pod.labels) if pod is not None else {}
    labels.update(_str_map(message.labels))
    return CRIContainer(
        id=listed.id,
        name=message.metadata.name or listed.metadata.name,
        pod=pod.metadata.name if pod is not None else "",
        namespace=pod.metadata.namespace if pod is not None else "",
        pod_uid=pod.metadata.uid if pod is not None else "",
        runtime=runtime,
        image=message.image.image or message.image_ref,
        labels=labels,
        annotations=_str_map(message.annotations),
        pod_annotations=_str_map(pod.annotations) if pod is not None else {},
        info=status.info,
        pod_volume_types=tuple(sorted(kinds.get(listed.pod_sandbox_id, set()))),
        problems=(status.problem,) if status.problem else (),
    )


def _target(c: CRIContainer, status: Status, host: HostContext) -> TargetState:
    declared = cri_declared.collect(c)
    pid = status.info.get("pid")
    if isinstance(pid, int) and pid > 0:
        effective = kernel.collect(pid, host, c.id)
    else:
        effective = LayerBuilder(Layer.EFFECTIVE)
        reason = "the runtime did not give the container's host pid (verbose status)"
        effective.gaps["effective.*"] = Gap(GapKind.FAILED, status.problem or reason)
    return build_state(TargetKind.CONTAINER, c.id, c.target, SourceKind.CRI, declared, effective)
