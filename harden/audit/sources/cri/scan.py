"""``--source cri``: the pods of a Kubernetes node, through the runtime's CRI socket.

Declared state from the CRI (the verbose container status: the OCI spec the runtime
applied and, from containerd, the kubelet's request), kernel truth from /proc through
the same collector as every other live source. Read-only; a container that vanishes
during the scan becomes a target whose facts are failed, with the reason.

``plan`` does every call to the runtime (the lists, then every container's and pod's
verbose status, all sent at once over the one connection) and closes the connection,
so that nothing of gRPC is in use when ``read`` runs in forked workers; ``read`` maps
one container's status and reads its /proc files.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harden.audit.sources.cri import declared as cri_declared
from harden.audit.sources.cri import volumes
from harden.audit.sources.cri.client import CRIClient, NotCRI, Runtime, Status
from harden.audit.sources.cri.declared import CRIContainer
from harden.audit.sources.interface import Progress, Read, Scan, unreadable
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


@dataclass(frozen=True)
class Item:
    """One container to read: its CRI view (or why there is none) and its host pid."""

    container: CRIContainer | None
    pid: int | None
    label: str
    unreadable: str = ""  # the status could not be had: the reason


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


class CRISource:
    """The CRI source (see :class:`harden.audit.sources.interface.Source`).

    With ``quiet_if_not_cri`` (detection), a socket that serves no CRI gives an empty
    scan and :attr:`not_cri` instead of an unavailable engine.
    """

    kind = SourceKind.CRI

    def __init__(self, request: CRIScan, *, quiet_if_not_cri: bool = False) -> None:
        self.request = request
        self.quiet_if_not_cri = quiet_if_not_cri
        self.not_cri = False
        self.endpoint = f"unix://{request.socket}"
        self._failed: Scan | None = None
        self._runtime: Runtime | None = None
        self._host: HostContext | None = None

    def plan(self, progress: Progress) -> list[Item]:
        try:
            client = CRIClient(self.request.socket)
        except EngineError as exc:
            self._failed = unavailable(exc, self.endpoint)
            return []
        try:
            return self._plan(client)
        except NotCRI as exc:
            self.not_cri = self.quiet_if_not_cri
            self._failed = Scan(SourceKind.CRI, ()) if self.not_cri else unavailable(exc, "")
            return []
        except EngineError as exc:
            self._failed = unavailable(exc, self.endpoint)
            return []
        finally:
            client.close()

    def _plan(self, client: CRIClient) -> list[Item]:
        self._runtime = client.version()
        name = _RUNTIME_NAMES.get(self._runtime.name, self._runtime.name)
        pods = {s.id: s for s in client.sandboxes()}
        wanted = [
            c
            for c in client.containers()
            if not self.request.namespaces
            or (
                c.pod_sandbox_id in pods
                and pods[c.pod_sandbox_id].metadata.namespace in self.request.namespaces
            )
        ]
        statuses = list(client.container_statuses([c.id for c in wanted]))
        sandbox_ids = list(dict.fromkeys(c.pod_sandbox_id for c in wanted))
        sandboxes = {
            sid: status.info
            for sid, status in zip(sandbox_ids, client.sandbox_statuses(sandbox_ids), strict=True)
            if isinstance(status, Status)
        }
        uids = {sid: s.metadata.uid for sid, s in pods.items()}
        read = [
            (c.pod_sandbox_id, s.message)
            for c, s in zip(wanted, statuses, strict=True)
            if isinstance(s, Status)
        ]
        kinds = _pod_volume_types(read, uids)
        self._host = host_context()
        items = []
        for listed, status in zip(wanted, statuses, strict=True):
            pod = pods.get(listed.pod_sandbox_id)
            label = listed.id
            if pod is not None:
                label = f"{pod.metadata.namespace}/{pod.metadata.name}/{listed.metadata.name}"
            if isinstance(status, EngineError):
                reason = status.reason
                if status.failure is Failure.NOT_FOUND:
                    reason = "the container was removed during the scan"
                items.append(Item(None, None, label, reason))
                continue
            container = _container(listed, status, pod, name, kinds)
            container = dataclasses.replace(
                container, sandbox=sandboxes.get(listed.pod_sandbox_id, {})
            )
            pid = status.info.get("pid")
            items.append(Item(container, pid if isinstance(pid, int) and pid > 0 else None, label))
        return items

    def label(self, item: Item) -> str:
        return item.label

    def read(self, item: Item) -> Read:
        assert self._host is not None
        if item.container is None:
            return Read([unreadable(item.label, item.label, SourceKind.CRI, item.unreadable)])
        return Read([_target(item.container, item.pid, self._host)])

    def finish(self, reads: Sequence[Read]) -> Scan:
        if self._failed is not None:
            return self._failed
        assert self._runtime is not None
        assert self._host is not None
        runtime = self._runtime
        meta = {
            "hostname": socket.gethostname(),
            "kernel": os.uname().release,
            "engine": f"{runtime.name} {runtime.version} (CRI {runtime.api_version})",
            "euid": str(os.geteuid()),
        }
        problem = self._host.namespace_problem
        problems = (f"host namespaces: {problem}",) if problem else ()
        targets = tuple(t for r in reads for t in r.targets)
        return Scan(SourceKind.CRI, targets, problems, endpoint=self.endpoint, meta=meta)


def unavailable(exc: EngineError, endpoint: str) -> Scan:
    problem = f"the CRI runtime cannot be used: {exc.reason}"
    return Scan(SourceKind.CRI, (), (problem,), engine_unavailable=True, endpoint=endpoint)


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


def _target(c: CRIContainer, pid: int | None, host: HostContext) -> TargetState:
    declared = cri_declared.collect(c)
    if pid is not None:
        effective = kernel.collect(pid, host, c.id)
    else:
        effective = LayerBuilder(Layer.EFFECTIVE)
        reason = "the runtime did not give the container's host pid (verbose status)"
        effective.gaps["effective.*"] = Gap(GapKind.FAILED, c.problems[0] if c.problems else reason)
    return build_state(TargetKind.CONTAINER, c.id, c.target, SourceKind.CRI, declared, effective)
