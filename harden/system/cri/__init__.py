"""A read-only client of the CRI (the ``runtime.v1`` gRPC API that the kubelet uses).

It asks only what an audit needs: the runtime's version, the pod sandboxes, the
containers, and each container's (and, where needed, each pod's) verbose status, whose
``info`` map carries the OCI runtime spec the runtime applied and the host pid. Nothing
here creates, stops or enters a container. Failures use the engine client's error model
(:class:`harden.system.engine.EngineError`), so every source reports them the same way.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from harden.system.cri.api import api_pb2 as pb
from harden.system.cri.api import api_pb2_grpc as rpc
from harden.system.engine import EngineError, Failure

TIMEOUT = 30.0  # seconds per call
_MAX_MESSAGE = 64 << 20  # a verbose status holds a whole OCI spec; 64 MiB is far above it
_FAILURES = {
    grpc.StatusCode.UNAVAILABLE: Failure.DOWN,
    grpc.StatusCode.DEADLINE_EXCEEDED: Failure.DOWN,
    grpc.StatusCode.PERMISSION_DENIED: Failure.DENIED,
    grpc.StatusCode.UNAUTHENTICATED: Failure.DENIED,
    grpc.StatusCode.NOT_FOUND: Failure.NOT_FOUND,
}


@dataclass(frozen=True)
class Runtime:
    name: str  # "containerd", "cri-o"
    version: str
    api_version: str


@dataclass(frozen=True)
class Status:
    """One verbose status: the message itself and its decoded ``info["info"]`` JSON."""

    message: Any  # pb.ContainerStatus or pb.PodSandboxStatus
    info: dict[str, Any]  # {} when the runtime gave no (or no readable) verbose info
    problem: str = ""  # why ``info`` is empty, for a person


class NotCRI(EngineError):
    """The socket answers gRPC but serves no CRI (e.g. Docker's own containerd, whose CRI
    plugin is disabled)."""


def error(endpoint: str, exc: grpc.RpcError) -> EngineError:
    """A gRPC failure as the engine error a source reports."""
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return NotCRI(
            Failure.OTHER,
            f"{endpoint}: the runtime does not serve the CRI runtime.v1 API ({details})",
        )
    reason = f"{endpoint}: {code.name.lower().replace('_', ' ')}: {details}"
    return EngineError(_FAILURES.get(code, Failure.OTHER), reason)


def _decode_info(info: Any, what: str) -> tuple[dict[str, Any], str]:
    text = info.get("info") if info else None
    if not text:
        return {}, f"the runtime gave no verbose information for {what}"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return {}, f"the runtime's verbose information for {what} is not JSON: {exc}"
    if not isinstance(data, dict):
        return {}, f"the runtime's verbose information for {what} is not a JSON object"
    return data, ""


class CRIClient:
    """One channel to a CRI socket (``unix:///run/containerd/containerd.sock``)."""

    def __init__(self, path: str, timeout: float = TIMEOUT) -> None:
        self.path = path
        self.endpoint = f"unix://{path}"
        self.timeout = timeout
        _probe(path, self.endpoint)
        self._channel = grpc.insecure_channel(
            self.endpoint,
            options=[
                ("grpc.max_receive_message_length", _MAX_MESSAGE),
                ("grpc.enable_http_proxy", 0),
            ],
        )
        self._stub = rpc.RuntimeServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> CRIClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def version(self) -> Runtime:
        try:
            answer = self._stub.Version(pb.VersionRequest(version="v1"), timeout=self.timeout)
        except grpc.RpcError as exc:
            raise error(self.endpoint, exc) from None
        return Runtime(answer.runtime_name, answer.runtime_version, answer.runtime_api_version)

    def sandboxes(self) -> list[pb.PodSandbox]:
        try:
            answer = self._stub.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=self.timeout)
        except grpc.RpcError as exc:
            raise error(self.endpoint, exc) from None
        return list(answer.items)

    def containers(self, running_only: bool = True) -> list[pb.Container]:
        request = pb.ListContainersRequest()
        if running_only:
            state = pb.ContainerStateValue(state=pb.CONTAINER_RUNNING)
            request = pb.ListContainersRequest(filter=pb.ContainerFilter(state=state))
        try:
            answer = self._stub.ListContainers(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise error(self.endpoint, exc) from None
        return list(answer.containers)

    def container_statuses(self, ids: list[str]) -> Iterator[Status | EngineError]:
        """Each container's verbose status (or the error it met), in order. The calls are
        all sent at once and answered concurrently over the one HTTP/2 connection."""
        calls = [
            self._stub.ContainerStatus.future(
                pb.ContainerStatusRequest(container_id=cid, verbose=True), timeout=self.timeout
            )
            for cid in ids
        ]
        return self._answers(ids, calls, "container")  # sent now, answered when iterated

    def sandbox_statuses(self, ids: list[str]) -> Iterator[Status | EngineError]:
        """Each pod sandbox's verbose status (or the error it met), in order, concurrently."""
        calls = [
            self._stub.PodSandboxStatus.future(
                pb.PodSandboxStatusRequest(pod_sandbox_id=sid, verbose=True), timeout=self.timeout
            )
            for sid in ids
        ]
        return self._answers(ids, calls, "pod sandbox")

    def _answers(
        self, ids: list[str], calls: list[Any], what: str
    ) -> Iterator[Status | EngineError]:
        for item, call in zip(ids, calls, strict=True):
            try:
                answer = call.result()
            except grpc.RpcError as exc:
                yield error(self.endpoint, exc)
                continue
            info, problem = _decode_info(answer.info, f"{what} {item}")
            yield Status(answer.status, info, problem)


def _probe(path: str, endpoint: str) -> None:
    """Fail fast with a clear reason when nothing listens (gRPC itself would retry)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    try:
        sock.connect(path)
    except PermissionError:
        raise EngineError(Failure.DENIED, f"{endpoint}: permission denied") from None
    except OSError as exc:
        raise EngineError(Failure.DOWN, f"{endpoint}: {exc.strerror or exc}") from None
    finally:
        sock.close()
