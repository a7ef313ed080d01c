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
from harden.audit.sources.cri.declared import CRIContainer
from harden.audit.sources.interface import Read, Scan, unreadable
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
from harden.system.cri import CRIClient, NotCRI, Runtime, Status
from harden.system.engine import EngineError, Failure
from harden.system.parallel import Ahead

_RUNTIME_NAMES = {"cri-o": "crio"}


def default_socket(env: Mapping[str, str] | None = None) -> str:
    """CONTAINER_RUNTIME_ENDPOINT (as crictl reads it), else the first CRI socket that
    detection finds here (the same list and ``HARDEN_RUN`` as ``--source auto``), else
    containerd's."""
    from harden.audit.sources.detect import CRI_SOCKETS, find  # noqa: PLC0415 - a cycle

    env = os.environ if env is None else env
    named = env.get("CONTAINER_RUNTIME_ENDPOINT", "")
    if named.startswith(("unix://", "/")):
        return named.removeprefix("unix://")
    found = [e.socket for e in find(env) if e.kind is SourceKind.CRI]
    return found[0] if found else CRI_SOCKETS[0][1]


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


@dataclass
class _Answers:
    """Everything the runtime said, fetched on a thread (see :class:`CRISource`)."""

    runtime: Runtime
    pods: dict[str, Any]  # sandbox id -> pb.PodSandbox
    wanted: list[Any]  # pb.Container, running, in the namespaces asked for
    statuses: list[Status | EngineError]
    sandboxes: dict[str, dict[str, Any]]  # sandbox id -> verbose info


class CRISource:
    """The CRI source (see :class:`harden.audit.sources.interface.Source`).

    Made before harden loads its rules, it asks the runtime everything at once on a
    thread meanwhile (the lists, then every container's and pod's verbose status, sent
    together over one connection): that is mostly waiting for the runtime. ``plan``
    waits for the answers; the connection is closed by then, so nothing of gRPC is in
    use when ``read`` runs in forked workers.

    With ``quiet_if_not_cri`` (detection), a socket that serves no CRI gives an empty
    scan and :attr:`not_cri` instead of an unavailable engine.
    """

    kind = SourceKind.CRI

    def __init__(
        self, request: CRIScan, *, quiet_if_not_cri: bool = False, background: bool = True
    ) -> None:
        self.request = request
        self.quiet_if_not_cri = quiet_if_not_cri
        self.not_cri = False
        self.endpoint = f"unix://{request.socket}"
        self._failed: Scan | None = None
        self._runtime: Runtime | None = None
        self._host: HostContext | None = None
        self._answers: _Answers | None = None
        self._error: EngineError | None = None
        self._ahead = Ahead(self._fetch, name="harden-cri", background=background)

    def _fetch(self) -> None:
        try:
            client = CRIClient(self.request.socket)
            try:
                self._answers = _ask(client, self.request.namespaces)
            finally:
                client.close()
        except EngineError as exc:
            self._error = exc

    def plan(self, progress: Progress) -> list[Item]:
        self._ahead.result()  # the answers, or what went wrong fetching them
        if isinstance(self._error, NotCRI) and self.quiet_if_not_cri:
            self.not_cri = True
            self._failed = Scan(SourceKind.CRI, ())
            return []
        if self._error is not None or self._answers is None:
            assert self._error is not None
            self._failed = unavailable(self._error, self.endpoint)
            return []
        return self._items(self._answers)

    def _items(self, answers: _Answers) -> list[Item]:
        self._runtime = answers.runtime
        name = _RUNTIME_NAMES.get(answers.runtime.name, answers.runtime.name)
        pods, wanted, statuses = answers.pods, answers.wanted, answers.statuses
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
                container, sandbox=answers.sandboxes.get(listed.pod_sandbox_id, {})
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


def _ask(client: CRIClient, namespaces: tuple[str, ...]) -> _Answers:
    """The runtime's version, pods and running containers, and the verbose status of each
    container and of each pod that has one (all status calls sent before any answer)."""
    runtime = client.version()
    pods = {s.id: s for s in client.sandboxes()}
    wanted = [
        c
        for c in client.containers()
        if not namespaces
        or (c.pod_sandbox_id in pods and pods[c.pod_sandbox_id].metadata.namespace in namespaces)
    ]
    sandbox_ids = list(dict.fromkeys(c.pod_sandbox_id for c in wanted))
    containers = client.container_statuses([c.id for c in wanted])
    sandboxes = client.sandbox_statuses(sandbox_ids)
    statuses = list(containers)
    infos = {
        sid: status.info
        for sid, status in zip(sandbox_ids, sandboxes, strict=True)
        if isinstance(status, Status)
    }
    return _Answers(runtime, pods, wanted, statuses, infos)


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
