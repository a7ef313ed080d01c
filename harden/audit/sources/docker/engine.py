"""The live source: the engine API for the declared layer, /proc for the effective one.

Read-only: GET requests to the engine, reads of /proc and /sys. A container that
disappears or is refused during the scan becomes a target whose facts are all failed,
with the reason; the scan goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harden.audit.sources.docker import declared as declared_layer
from harden.audit.sources.docker.daemon import (
    engine_daemon,
    host_target,
    security_options,
    unusable_daemon,
)
from harden.audit.sources.docker.fields import EngineDefaults
from harden.audit.sources.docker.resolve import resolve_shared_namespaces
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
from harden.errors import InputError
from harden.progress import Progress
from harden.system.engine import (
    DEFAULT_TIMEOUT,
    Early,
    EngineAPI,
    EngineError,
    Failure,
    UnixSocketAPI,
    connect,
    container_path,
)
from harden.system.proc import ProcFS


@dataclass(frozen=True)
class EngineScan:
    names: tuple[str, ...] = ()  # empty: every running container
    include_host: bool = True
    timeout: float = DEFAULT_TIMEOUT  # seconds to connect, and for each whole answer


def engine_defaults(info: dict[str, Any], daemon: TargetState | None) -> EngineDefaults:
    names = {str(o).split(",")[0].removeprefix("name=") for o in security_options(info)}
    nnp = daemon.declared.get("daemon.no_new_privileges") if daemon else None
    cgroup_version = str(info.get("CgroupVersion", ""))
    return EngineDefaults(
        userns_remap="userns" in names,
        cgroupns_mode={"1": "host", "2": "private"}.get(cgroup_version),
        apparmor="apparmor" in names,
        selinux="selinux" in names,
        no_new_privileges=bool(nnp.value) if nnp is not None else None,
    )


def exec_sessions(api: Callable[[], EngineAPI], exec_ids: list[str], layer: LayerBuilder) -> None:
    """The ``docker exec`` sessions of one container (only GET /exec/ID/json). ``api`` is
    called only when there are sessions to ask about (a forked worker connects lazily)."""
    sessions = []
    answers: list[Any] = []
    if exec_ids:
        try:
            answers = list(api().get_many([f"/exec/{i}/json" for i in exec_ids]))
        except EngineError as exc:  # a worker's own connection could not be opened
            layer.fail("exec_sessions", exc.reason)
            return
    for exec_id, data in zip(exec_ids, answers, strict=True):
        if isinstance(data, EngineError):
            if data.failure is Failure.NOT_FOUND:
                continue  # a finished exec may vanish: not an error
            layer.fail("exec_sessions", data.reason)
            return
        config = data.get("ProcessConfig") if isinstance(data, dict) else None
        if not isinstance(config, dict):
            layer.fail("exec_sessions", "the engine's exec details have an unexpected shape")
            return
        sessions.append(
            {
                "id": exec_id,
                "user": str(config.get("user", "")),
                "privileged": bool(config.get("privileged")),
                "running": bool(data.get("Running")),
            }
        )
    layer.set("exec_sessions", sessions, "engine: ExecIDs and /exec/ID/json")


@dataclass
class Pending:
    """A container whose declared layer is read; its kernel state is read by :func:`finish`."""

    id: str
    name: str
    state: dict[str, Any]  # the inspect's State (Pid, Running)
    declared: LayerBuilder
    exec_ids: list[str]


@dataclass
class Prepared:
    """Everything of an engine scan but the containers' kernel state: the part that talks
    to the engine, done once. :func:`finish` completes each pending container (in this
    process or a forked one) and :func:`assemble` makes the Scan."""

    request: EngineScan
    endpoint: str
    info: dict[str, Any]
    daemon: TargetState | None
    host: HostContext
    wanted: list[tuple[str, str]]
    pending: list[Pending]
    failed: dict[str, TargetState]


def finish(prepared: Prepared, item: Pending, api: Callable[[], EngineAPI]) -> TargetState:
    """The container's state: its kernel truth read now, its exec sessions asked for."""
    running = item.state.get("Running")
    pid = item.state.get("Pid")
    if isinstance(pid, int) and pid > 0 and running:
        effective = kernel.collect(pid, prepared.host, item.id)
    else:
        effective = LayerBuilder(Layer.EFFECTIVE)
        if not prepared.request.names:  # it was running a moment ago: its kernel state is unknown
            gap = Gap(GapKind.FAILED, "the container stopped during the scan")
        else:  # named by the user and not running: there is no kernel state to read
            gap = Gap(GapKind.UNAVAILABLE, "the container is not running")
        effective.gaps["effective.*"] = gap
    exec_sessions(api, item.exec_ids, item.declared)
    return build_state(
        TargetKind.CONTAINER, item.id, item.name, SourceKind.ENGINE, item.declared, effective
    )


def _listed_name(item: dict[str, Any]) -> str:
    """The first of a listed container's Names, without its slash (its Id if it has none)."""
    names = item.get("Names")
    if isinstance(names, list) and names and isinstance(names[0], str):
        return names[0].lstrip("/")
    return str(item["Id"])


def _targets_to_scan(api: EngineAPI, request: EngineScan, listed: Any) -> list[tuple[str, str]]:
    """(id, name) pairs; a named container that does not exist is an input error."""
    if not request.names:
        if not isinstance(listed, list):
            raise EngineError(Failure.OTHER, "the engine's container list is not a list")
        return [
            (str(c["Id"]), _listed_name(c)) for c in listed if isinstance(c, dict) and "Id" in c
        ]
    out = []
    for name in request.names:
        try:
            raw = api.get(container_path(name))
        except EngineError as exc:
            if exc.failure is Failure.NOT_FOUND:
                raise InputError(
                    f"no container named {name!r}", hint="`docker ps` lists the running containers"
                ) from None
            raise
        if not isinstance(raw, dict):
            raise EngineError(Failure.OTHER, f"the engine's answer for {name!r} is not an object")
        out.append((str(raw.get("Id", name)), str(raw.get("Name", name)).lstrip("/")))
    return out


class EngineSource:
    """The live source (see :class:`harden.audit.sources.interface.Source`).

    Created before harden loads its rules: the engine's first answers (``/info`` and, for
    a whole-host scan, the container list) are fetched on a thread meanwhile, since both
    are mostly waiting for the engine (~25 ms here). ``plan`` inspects every container
    (pipelined, one connection); ``read`` reads one container's kernel state and, only if
    it has exec sessions, asks the engine about them (a forked worker connects lazily on
    its own connection: the planning one is not its to share).
    """

    kind = SourceKind.ENGINE

    def __init__(
        self,
        request: EngineScan,
        *,
        background: bool = True,
        socket: str = "",
        early: Early | None = None,
    ) -> None:
        self.request = request
        self.socket = socket  # detection: a unix socket found (Podman's), not DOCKER_HOST's
        self._pid = os.getpid()
        self._early = early or start(request, background=background, socket=socket)
        self._prepared: Prepared | None = None
        self._failed: Scan | None = None
        self._api: EngineAPI | None = None
        self._own: dict[int, EngineAPI] = {}

    def plan(self, progress: Progress) -> list[Pending]:
        first = self._early.wait()
        if first.api is None:
            assert first.error is not None
            self._failed = _unavailable(self.request, first.error, "")
            return []
        self._api = first.api
        try:
            if first.error is not None:
                raise first.error
            self._prepared = prepare(first.api, self.request, first.info, first.listed)
        except EngineError as exc:
            self._failed = _unavailable(self.request, exc, first.api.endpoint)
            self.close()
            return []
        return self._prepared.pending

    def label(self, item: Pending) -> str:
        return item.name

    def read(self, item: Pending) -> Read:
        assert self._prepared is not None
        return Read([finish(self._prepared, item, self._connection)])

    def _connection(self) -> EngineAPI:
        """This process's engine connection: the planning one, or a worker's own."""
        pid = os.getpid()
        if pid == self._pid and self._api is not None:
            return self._api
        if pid not in self._own:
            timeout = self.request.timeout
            own = UnixSocketAPI(self.socket, timeout) if self.socket else connect(timeout=timeout)
            self._own[pid] = own
        return self._own[pid]

    def finish(self, reads: Sequence[Read]) -> Scan:
        self.close()
        if self._failed is not None:
            return self._failed
        assert self._prepared is not None
        return assemble(self._prepared, [t for r in reads for t in r.targets])

    def close(self) -> None:
        if os.getpid() != self._pid:
            return
        if self._api is not None:
            self._api.close()
            self._api = None
        for api in self._own.values():
            api.close()
        self._own.clear()


def _unavailable(request: EngineScan, exc: EngineError, endpoint: str) -> Scan:
    problem = f"the container engine cannot be used: {exc.reason}"
    if exc.hint:
        problem += f"; hint: {exc.hint}"
    targets: tuple[TargetState, ...] = ()
    if request.include_host and not request.names:
        gap = Gap(GapKind.FAILED, problem)
        audited = unusable_daemon(endpoint, exc.reason)
        targets = (host_target(SourceKind.ENGINE, None, audited, info_gap=gap),)
    return Scan(SourceKind.ENGINE, targets, (problem,), engine_unavailable=True, endpoint=endpoint)


def start(request: EngineScan, *, background: bool = True, socket: str = "") -> Early:
    """The engine's first answers for ``request``, asked for now (see :class:`Early`)."""
    return Early(
        listing=not request.names, background=background, socket=socket, timeout=request.timeout
    )


def prepare(api: EngineAPI, request: EngineScan, info: Any, listed: Any) -> Prepared:
    if not isinstance(info, dict):
        raise EngineError(Failure.OTHER, "the engine's /info answer is not an object")
    daemon = None
    if request.include_host:
        audited = engine_daemon(api.endpoint, api.peer, info, ProcFS())
        daemon = host_target(SourceKind.ENGINE, info, audited)
    defaults = engine_defaults(info, daemon)
    wanted = _targets_to_scan(api, request, listed)
    pending: list[Pending] = []
    failed: dict[str, TargetState] = {}
    names: dict[str, str] = {}
    answers = api.get_many([container_path(cid) for cid, _name in wanted])
    for (cid, name), raw in zip(wanted, answers, strict=True):
        names[cid] = name
        if isinstance(raw, EngineError) and raw.failure is Failure.BROKEN:
            raise raw  # the engine cannot be trusted with the rest either
        if isinstance(raw, EngineError):
            reason = raw.reason
            if raw.failure is Failure.NOT_FOUND:
                reason = "the container was removed during the scan"
            failed[cid] = unreadable(cid, name, SourceKind.ENGINE, reason)
            continue
        if not isinstance(raw, dict):
            reason = "the engine's inspect answer is not an object"
            failed[cid] = unreadable(cid, name, SourceKind.ENGINE, reason)
            continue
        state = raw.get("State")
        ids = raw.get("ExecIDs")
        pending.append(
            Pending(
                cid,
                name,
                state if isinstance(state, dict) else {},
                declared_layer.collect(raw, "engine", defaults),
                [str(i) for i in ids] if isinstance(ids, list) else [],
            )
        )
    resolve_shared_namespaces({p.id: p.declared for p in pending}, names, api, defaults)
    return Prepared(request, api.endpoint, info, daemon, host_context(), wanted, pending, failed)


def assemble(prepared: Prepared, finished: list[TargetState]) -> Scan:
    """The Scan, its containers in the engine's order and the host last."""
    by_id = {t.id: t for t in finished}
    targets = [prepared.failed.get(cid) or by_id[cid] for cid, _name in prepared.wanted]
    if prepared.daemon is not None:
        targets.append(prepared.daemon)
    info, host = prepared.info, prepared.host
    meta = {
        "hostname": str(info.get("Name", "")),
        "kernel": str(info.get("KernelVersion", "")),
        "engine": f"{info.get('ServerVersion', '')}",
        "euid": str(os.geteuid()),
    }
    problems = (f"host namespaces: {host.namespace_problem}",) if host.namespace_problem else ()
    return Scan(SourceKind.ENGINE, tuple(targets), problems, endpoint=prepared.endpoint, meta=meta)
