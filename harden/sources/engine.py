"""The live source: the engine API for the declared layer, /proc for the effective one.

Read-only: GET requests to the engine, reads of /proc and /sys. A container that
disappears or is refused during the scan becomes a target whose facts are all failed,
with the reason; the scan goes on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from harden.errors import InputError
from harden.sources import declared as declared_layer
from harden.sources import kernel
from harden.sources.daemon import host_target
from harden.sources.dockerapi import EngineAPI, EngineError, Failure, connect, container_path
from harden.sources.host import HostContext, host_context
from harden.sources.inspect_fields import EngineDefaults
from harden.sources.resolve import resolve_shared_namespaces
from harden.sources.scan import Progress, Scan, no_progress, unreadable
from harden.state.model import (
    Gap,
    GapKind,
    Layer,
    LayerBuilder,
    SourceKind,
    TargetKind,
    TargetState,
    build_state,
)


@dataclass(frozen=True)
class EngineScan:
    names: tuple[str, ...] = ()  # empty: every running container
    include_host: bool = True


def engine_defaults(info: dict[str, Any], daemon: TargetState | None) -> EngineDefaults:
    names = {str(o).split(",")[0].removeprefix("name=") for o in info.get("SecurityOptions") or []}
    nnp = daemon.declared.get("daemon.no_new_privileges") if daemon else None
    cgroup_version = str(info.get("CgroupVersion", ""))
    return EngineDefaults(
        userns_remap="userns" in names,
        cgroupns_mode={"1": "host", "2": "private"}.get(cgroup_version),
        apparmor="apparmor" in names,
        selinux="selinux" in names,
        no_new_privileges=bool(nnp.value) if nnp is not None else None,
    )


def exec_sessions(api: EngineAPI, exec_ids: list[str], layer: LayerBuilder) -> None:
    """The ``docker exec`` sessions of one container (only GET /exec/ID/json)."""
    sessions = []
    for exec_id, data in zip(
        exec_ids, api.get_many([f"/exec/{i}/json" for i in exec_ids]), strict=True
    ):
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


def _container(
    raw: dict[str, Any], defaults: EngineDefaults, host: HostContext, *, listed: bool
) -> tuple[LayerBuilder, LayerBuilder]:
    """Both layers of one container; ``listed``: it was running when the scan began."""
    declared = declared_layer.collect(raw, "engine", defaults)
    state = raw.get("State") or {}
    pid = state.get("Pid") if isinstance(state, dict) else None
    if isinstance(pid, int) and pid > 0 and state.get("Running"):
        effective = kernel.collect(pid, host, str(raw.get("Id", "")))
    else:
        effective = LayerBuilder(Layer.EFFECTIVE)
        if listed:  # it was running a moment ago: what its kernel state was is unknown
            gap = Gap(GapKind.FAILED, "the container stopped during the scan")
        else:  # named by the user and not running: there is no kernel state to read
            gap = Gap(GapKind.UNAVAILABLE, "the container is not running")
        effective.gaps["effective.*"] = gap
    return declared, effective


def _targets_to_scan(api: EngineAPI, request: EngineScan) -> list[tuple[str, str]]:
    """(id, name) pairs; a named container that does not exist is an input error."""
    if not request.names:
        listed = api.get("/containers/json")
        if not isinstance(listed, list):
            raise EngineError(Failure.OTHER, "the engine's container list is not a list")
        return [
            (str(c["Id"]), str((c.get("Names") or ["/"])[0]).lstrip("/"))
            for c in listed
            if isinstance(c, dict) and "Id" in c
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
        out.append((str(raw.get("Id", name)), str(raw.get("Name", name)).lstrip("/")))
    return out


def scan(request: EngineScan, progress: Progress = no_progress) -> Scan:
    try:
        api = connect()
    except EngineError as exc:
        return _unavailable(request, exc, "")
    try:
        return _scan(api, request, progress)
    except EngineError as exc:
        return _unavailable(request, exc, api.endpoint)
    finally:
        api.close()


def _unavailable(request: EngineScan, exc: EngineError, endpoint: str) -> Scan:
    problem = f"the container engine cannot be used: {exc.reason}"
    targets: tuple[TargetState, ...] = ()
    if request.include_host and not request.names:
        gap = Gap(GapKind.FAILED, problem)
        targets = (host_target(SourceKind.ENGINE, None, local=True, info_gap=gap),)
    return Scan(SourceKind.ENGINE, targets, (problem,), engine_unavailable=True, endpoint=endpoint)


def _scan(api: EngineAPI, request: EngineScan, progress: Progress) -> Scan:
    info = api.get("/info")
    local = api.endpoint.startswith("unix://")
    daemon = host_target(SourceKind.ENGINE, info, local=local) if request.include_host else None
    defaults = engine_defaults(info, daemon)
    host = host_context()
    wanted = _targets_to_scan(api, request)
    layers: dict[str, tuple[LayerBuilder, LayerBuilder]] = {}
    failed: dict[str, TargetState] = {}
    names: dict[str, str] = {}
    execs: dict[str, list[str]] = {}
    answers = api.get_many([container_path(cid) for cid, _name in wanted])
    for done, ((cid, name), raw) in enumerate(zip(wanted, answers, strict=True)):
        progress(done, len(wanted), name)
        names[cid] = name
        if isinstance(raw, EngineError):
            reason = raw.reason
            if raw.failure is Failure.NOT_FOUND:
                reason = "the container was removed during the scan"
            failed[cid] = unreadable(cid, name, SourceKind.ENGINE, reason)
            continue
        layers[cid] = _container(raw, defaults, host, listed=not request.names)
        ids = raw.get("ExecIDs")
        execs[cid] = [str(i) for i in ids] if isinstance(ids, list) else []
    progress(len(wanted), len(wanted), "")
    for cid, exec_ids in execs.items():  # after the pipelined inspects: one request at a time
        exec_sessions(api, exec_ids, layers[cid][0])
    resolve_shared_namespaces(layers, names, api, defaults)
    targets: list[TargetState] = []
    for cid, _name in wanted:
        if cid in failed:
            targets.append(failed[cid])
        else:
            targets.append(
                build_state(TargetKind.CONTAINER, cid, names[cid], SourceKind.ENGINE, *layers[cid])
            )
    if daemon is not None:
        targets.append(daemon)
    meta = {
        "hostname": str(info.get("Name", "")),
        "kernel": str(info.get("KernelVersion", "")),
        "engine": f"{info.get('ServerVersion', '')}",
        "euid": str(os.geteuid()),
    }
    problems = (f"host namespaces: {host.namespace_problem}",) if host.namespace_problem else ()
    return Scan(SourceKind.ENGINE, tuple(targets), problems, endpoint=api.endpoint, meta=meta)
